"""Core's own registrations, made through the same hooks and the same entry-point group plugins use.

Found through the ``core`` entry point in ``core/pyproject.toml``, never imported by
``headwater.plugins``: that is what keeps the plugin manager free of ``blocks/`` and ``runtime/``.
"""

from __future__ import annotations

from headwater.hookspecs import hookimpl


@hookimpl
def register_block_types(register):  # type: ignore[no-untyped-def]
    from headwater.blocks.system import LocalFileSystem, Secret

    register(Secret)
    register(LocalFileSystem)


@hookimpl
def register_secret_backends(register):  # type: ignore[no-untyped-def]
    from headwater.blocks import secrets

    register("encrypted", secrets.EncryptedBackend)
    register("keyring", secrets.KeyringBackend)


@hookimpl
def register_task_runners(register):  # type: ignore[no-untyped-def]
    from headwater.runtime.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

    register("thread-pool", ThreadPoolTaskRunner)
    register("process-pool", ProcessPoolTaskRunner)


@hookimpl
def register_worker_types(register):  # type: ignore[no-untyped-def]
    from headwater.orchestration.workers import ProcessWorker

    register("process", ProcessWorker)
