"""``fieldapp provision-register``: register this laptop with the registry IT provisioned, and check its keys.

Plugged into ``fieldapp`` through the ``fieldapp.commands`` entry point (the core never imports sync).
"""

from __future__ import annotations

import argparse
import logging

from fieldapp.base.errors import FieldappError
from fieldapp.base.exitcodes import Exit
from fieldapp.cli.common import say, store_of, subcommand, unlock
from fieldapp.deploy import provisioning
from fieldapp.outbound import device as device_file
from fieldapp.outbound import outbox

log = logging.getLogger("fieldapp.deploy")


def add_commands(sub, common: argparse.ArgumentParser) -> None:
    p = subcommand(sub, common, "provision-register", cmd_provision_register,
                   "register this laptop with the provisioned registry and check its keys (supervisors)")
    p.add_argument("--user", required=True, help="supervisor user name; password from FIELDAPP_PASSWORD, else a prompt")
    p.add_argument("--code", required=True, help="one-time enrollment code from the registry administrator")


def cmd_provision_register(args) -> int:
    data_dir = store_of(args).data_dir
    settings = provisioning.registry_settings(data_dir)
    if settings is None:
        raise FieldappError("deploy.provision.none")
    from sync.registration import register  # HTTP client libraries: loaded only for this command

    session = unlock(args, role="supervisor")
    try:
        dev = register(data_dir, settings["server_url"], args.code, ca_file=settings["ca_file"], pins=settings["pins"])
        if (dev.registry_seal_public_key, dev.registry_sign_public_key) != (settings["seal_public_key"],
                                                                            settings["sign_public_key"]):
            device_file.path_of(data_dir).unlink()
            log.warning("registration undone: registry keys differ from the provisioned ones")
            raise FieldappError("deploy.register.keys_differ", server=settings["server_url"])
        queued = outbox.enqueue_approved(session) or 0
    finally:
        session.close()
    say("deploy.register.done", server=dev.server_url, device_id=dev.device_id, queued=queued)
    return Exit.OK
