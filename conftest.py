"""Root conftest: every suite of this repository (core, each plugin, tests/) gets Headwater's
fixtures. The plugin is opt-in for users (``-p headwater.testing.pytest_plugin``), so the repo
opts in here rather than through an entry point that would load it into every pytest session."""

from importlib.metadata import entry_points

# An environment installed before the entry point was removed still loads the plugin by it;
# registering the module a second time would fail.
_BY_ENTRY_POINT = any(ep.value == "headwater.testing.pytest_plugin" for ep in entry_points(group="pytest11"))
pytest_plugins = [] if _BY_ENTRY_POINT else ["headwater.testing.pytest_plugin"]
