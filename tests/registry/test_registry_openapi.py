"""The published OpenAPI document, and a schemathesis run over it against the live registry."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def test_openapi_describes_the_real_bodies_and_headers(registry_server):
    doc = requests.get(registry_server.url + "/openapi.json", timeout=10).json()
    batch = doc["paths"]["/v1/batches"]["post"]
    headers = {p["name"] for p in batch["parameters"] if p["in"] == "header"}
    assert {"Idempotency-Key", "X-Batch-Signature", "Content-Encoding"} <= headers
    assert batch["requestBody"]["content"]["application/octet-stream"]["schema"]["format"] == "binary"
    assert batch["security"] == [{"HTTPBearer": []}]
    assert "ReceiptOut" in batch["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    enroll = doc["paths"]["/v1/devices/enroll"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert enroll["$ref"].endswith("/EnrollIn")
    assert "422" not in doc["paths"]["/v1/devices/enroll"]["post"]["responses"]  # refusals are 400, as documented
    for path in ("/v1/health", "/v1/keys", "/v1/reference", "/v1/auth/challenge", "/v1/auth/token", "/v1/status",
                 "/v1/devices/approval-key"):
        assert path in doc["paths"]
    schemas = doc["components"]["schemas"]
    assert {"approval_public_key", "approval_proof"} <= set(schemas["EnrollIn"]["properties"])
    assert set(schemas["ApprovalKeyIn"]["required"]) == {"approval_public_key", "approval_proof"}
    assert schemas["ApprovalKeyOut"]["properties"]["state"]["enum"] == ["registered", "unchanged", "rotated"]
    assert {"device_id", "issued_at", "signature"} <= set(schemas["StatusOut"]["required"])
    assert "held" in schemas["StatusRecord"]["properties"]["state"]["enum"]
    assert "held" in schemas["ResultOut"]["properties"]["status"]["enum"]
    assert "audit_head" in schemas["ReceiptBody"]["properties"] and "protocol" in schemas["KeysOut"]["required"]
    for method, path in (("get", "/v1/status"), ("post", "/v1/status"), ("post", "/v1/devices/approval-key")):
        assert doc["paths"][path][method]["security"] == [{"HTTPBearer": []}]


def schemathesis_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("schemathesis")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("schemathesis")
    if not found:
        pytest.skip("schemathesis is not installed (pip install schemathesis)")
    return [found]


@pytest.mark.slow
def test_schemathesis_finds_no_server_errors(registry_server, device, tmp_path):
    """Coverage and fuzzing phases with a real bearer token, so authenticated paths are reached."""
    cmd = [*schemathesis_cmd(), "run", registry_server.url + "/openapi.json", "--checks", CHECKS,
           "--max-examples", "60", "--seed", "20251125", "--workers", "2", "--no-color",
           "--generation-database", "none", "--phases", "examples,coverage,fuzzing", "--request-timeout", "30",
           "-H", f"Authorization: Bearer {device.token}"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": ""}
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300, env=env)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-6000:]
    assert "generated" in out
    assert '"internal_error"' not in registry_server.log_path.read_text(errors="replace")
