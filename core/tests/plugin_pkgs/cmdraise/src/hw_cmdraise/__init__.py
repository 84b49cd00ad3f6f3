import click
from headwater import hookimpl


@hookimpl
def register_commands(cli):
    @click.command("half-made")
    def half_made():
        """Registered before the hook fails: must not stay."""

    cli.add_command(half_made)
    raise RuntimeError("commands blew up")
