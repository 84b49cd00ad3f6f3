"""``headwater completion bash|zsh|fish``: the shell script that completes commands, options,
saved block names and run ids (click's shell completion)."""

from __future__ import annotations

import click

__all__ = ["completion"]

_INSTALL = {
    "bash": 'eval "$(headwater completion bash)"   # in ~/.bashrc',
    "zsh": 'eval "$(headwater completion zsh)"    # in ~/.zshrc',
    "fish": "headwater completion fish > ~/.config/fish/completions/headwater.fish",
}


@click.command("completion")
@click.argument("shell", type=click.Choice(sorted(_INSTALL)))
def completion(shell: str) -> None:
    """Print the completion script for SHELL.

    \b
    bash: eval "$(headwater completion bash)"   (in ~/.bashrc)
    zsh:  eval "$(headwater completion zsh)"    (in ~/.zshrc)
    fish: headwater completion fish > ~/.config/fish/completions/headwater.fish
    """
    from click.shell_completion import get_completion_class

    from headwater.cli import cli

    cls = get_completion_class(shell)
    assert cls is not None  # click ships bash, zsh and fish
    click.echo(cls(cli, {}, "headwater", "_HEADWATER_COMPLETE").source())
