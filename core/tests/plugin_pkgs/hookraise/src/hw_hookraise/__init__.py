from headwater import hookimpl


@hookimpl
def register_block_types(register):
    raise RuntimeError("hook blew up")
