"""``fieldapp provision-register``: register this laptop with the registry IT provisioned, and check its keys.

Plugged into ``fieldapp`` through the ``fieldapp.commands`` entry point (the core never imports sync).
"""

from __future__ import annotations

import argparse
import logging

from fieldapp.base.errors import FieldappError
from fieldapp.base.exitcodes import Exit
from fieldapp.cli.common import say, store_of, subcommand, unlock
from fieldapp.deploy import provisioned
from fieldapp.outbound import outbox

log = logging.getLogger("fieldapp.deploy")


def add_commands(sub, common: argparse.ArgumentParser) -> None:
    p = subcommand(sub, common, "provision-register", cmd_provision_register,
                   "register this laptop with the provisioned registry and check its keys (supervisors)")
    p.add_argument("--user", required=True, help="supervisor user name; password from FIELDAPP_PASSWORD, else a prompt")
    p.add_argument("--code", required=True, help="one-time enrollment code from the registry administrator")


def cmd_provision_register(args) -> int:
    data_dir = store_of(args).data_dir
    if provisioned.applied(data_dir) is None:
        raise FieldappError("deploy.provision.none")
    from sync.registration import register_store  # HTTP client libraries: loaded only for this command

    session = unlock(args, role="supervisor")
    try:
        settings = provisioned.registry_settings(data_dir, session)  # only a document the store trusts
        if settings is None:
            raise FieldappError("deploy.provision.untrusted_applied")
        try:
            dev = register_store(session, settings["server_url"], args.code, ca_file=settings["ca_file"],
                                 pins=settings["pins"], expect_keys=(settings["seal_public_key"],
                                                                     settings["sign_public_key"]))
        except FieldappError as exc:
            if exc.msg_id == "deploy.register.keys_differ":
                log.warning("registration undone: registry keys differ from the provisioned ones")
            raise
        queued = outbox.enqueue_approved(session) or 0
    finally:
        session.close()
    say("deploy.register.done", server=dev.server_url, device_id=dev.device_id, queued=queued)
    return Exit.OK
