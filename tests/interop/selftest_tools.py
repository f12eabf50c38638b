#!/usr/bin/env python3
"""Self-check of parse_metrics.py and check_reflection.py, run with the
interop venv's python:  tests/interop/.venv/bin/python tests/interop/selftest_tools.py

parse_metrics.py: samples/metrics.prom (a labelled counter, a gauge and a
histogram) must parse to the expected JSON; samples/metrics_broken.prom and a
few other broken inputs must make it exit non-zero.

check_reflection.py: against in-process grpcio servers on 127.0.0.1 (port 0),
serving a test service `selftest.Echo` (unary, server-streaming and
client-streaming methods; its file imports google/protobuf/timestamp.proto)
plus reflection:
  * "stock": grpcio-reflection's enable_server_reflection, which serves
    grpc.reflection.v1alpha only: the default mode must describe it, and
    --v1 must fail (UNIMPLEMENTED);
  * "dual": the same reflection servicer also mounted as
    grpc.reflection.v1.ServerReflection (as tonic-reflection and grpc-go do):
    both modes must print the same, expected JSON;
  * an address with nothing listening must fail.

Prints one line per check and a closing "N passed, N failed"; exit status 0
only when nothing failed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from concurrent import futures

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, timestamp_pb2
from grpc_reflection.v1alpha import reflection
from grpc_reflection.v1alpha import reflection_pb2 as v1alpha_pb2

HERE = os.path.dirname(os.path.abspath(__file__))
PY = sys.executable

results: list[tuple[str, bool, str]] = []


def check(name: str, ok: bool, detail: str = "") -> None:
    results.append((name, ok, detail))
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail and not ok else ''}", flush=True)


def run(args: list[str], stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([PY, *args], input=stdin, capture_output=True, timeout=60)


# --- parse_metrics.py ---------------------------------------------------------

EXPECTED_METRICS = {
    "families": {
        "agenda_rpc_requests": {
            "type": "counter",
            "help": "gRPC requests handled, by method and status code.",
            "samples": [
                {"name": "agenda_rpc_requests_total", "labels": {"method": "CreateSession", "code": "OK"}, "value": 3.0},
                {"name": "agenda_rpc_requests_total", "labels": {"method": "GetAgenda", "code": "NOT_FOUND"}, "value": 1.0},
            ],
        },
        "agenda_sessions": {
            "type": "gauge",
            "help": "Sessions currently stored.",
            "samples": [{"name": "agenda_sessions", "labels": {}, "value": 42.0}],
        },
        "agenda_rpc_duration_seconds": {
            "type": "histogram",
            "help": "gRPC handling time in seconds.",
            "samples": [
                {"name": "agenda_rpc_duration_seconds_bucket", "labels": {"method": "GetAgenda", "le": "0.005"}, "value": 1.0},
                {"name": "agenda_rpc_duration_seconds_bucket", "labels": {"method": "GetAgenda", "le": "0.1"}, "value": 3.0},
                {"name": "agenda_rpc_duration_seconds_bucket", "labels": {"method": "GetAgenda", "le": "+Inf"}, "value": 4.0},
                {"name": "agenda_rpc_duration_seconds_sum", "labels": {"method": "GetAgenda"}, "value": 1.25},
                {"name": "agenda_rpc_duration_seconds_count", "labels": {"method": "GetAgenda"}, "value": 4.0},
            ],
        },
    }
}

BROKEN_METRICS = {
    "unclosed label quote": b'# TYPE g gauge\ng{a="x} 1\n',
    "no trailing newline": b"# TYPE g gauge\ng 1",
    "empty input": b"",
    "not UTF-8": b'g{a="\xff"} 1\n',
    "bad value": b"# TYPE g gauge\ng one\n",
    "unknown TYPE": b"# TYPE g bogus\ng 1\n",
    "OpenMetrics-only TYPE": b"# TYPE i info\ni_info 1\n",
    "OpenMetrics counter sample without _total": b"# TYPE c counter\nc 1\n# EOF\n",
    "family in two groups": b"# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n# TYPE a gauge\na 2\n",
}


def test_parse_metrics() -> None:
    script = os.path.join(HERE, "parse_metrics.py")
    with open(os.path.join(HERE, "samples", "metrics.prom"), "rb") as f:
        p = run([script], f.read())
    ok = p.returncode == 0 and json.loads(p.stdout) == EXPECTED_METRICS
    check("parse_metrics.py samples/metrics.prom", ok, f"rc={p.returncode} {p.stderr.decode()} {p.stdout.decode()}")

    p = run([script], b"# TYPE s summary\ns{quantile=\"0.5\"} NaN\ns_sum 0\ns_count 0\ng +Inf\n")
    ok = p.returncode == 0 and json.loads(p.stdout)["families"]["s"]["samples"][0]["value"] == "NaN" \
        and json.loads(p.stdout)["families"]["g"]["samples"][0]["value"] == "+Inf"
    check("parse_metrics.py non-finite values as strings", ok, f"rc={p.returncode} {p.stderr.decode()}")

    p = run([script], b"# HELP c Calls.\n# TYPE c counter\nc_total{code=\"OK\"} 2\n# TYPE g gauge\ng 1\n# EOF\n")
    ok = p.returncode == 0 and json.loads(p.stdout)["families"]["c"] == {
        "type": "counter",
        "help": "Calls.",
        "samples": [{"name": "c_total", "labels": {"code": "OK"}, "value": 2.0}],
    }
    check("parse_metrics.py OpenMetrics text (ends with # EOF)", ok, f"rc={p.returncode} {p.stderr.decode()}")

    with open(os.path.join(HERE, "samples", "metrics_broken.prom"), "rb") as f:
        broken = {"samples/metrics_broken.prom": f.read(), **BROKEN_METRICS}
    for what, text in broken.items():
        p = run([script], text)
        ok = p.returncode != 0 and p.stdout == b"" and p.stderr.strip() != b""
        check(f"parse_metrics.py rejects {what}", ok, f"rc={p.returncode} stdout={p.stdout[:200]!r}")


# --- check_reflection.py ------------------------------------------------------

V1_SERVICE = "grpc.reflection.v1.ServerReflection"
V1ALPHA_SERVICE = reflection.SERVICE_NAME  # grpc.reflection.v1alpha.ServerReflection


def file_proto(module_descriptor) -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto()
    module_descriptor.CopyToProto(proto)
    return proto


def v1_reflection_file() -> descriptor_pb2.FileDescriptorProto:
    """grpc/reflection/v1/reflection.proto, made from the v1alpha file: same
    messages, package grpc.reflection.v1."""
    proto = file_proto(v1alpha_pb2.DESCRIPTOR)
    proto.name = "grpc/reflection/v1/reflection.proto"
    proto.package = "grpc.reflection.v1"
    proto.ClearField("options")
    old, new = ".grpc.reflection.v1alpha.", ".grpc.reflection.v1."
    for message in proto.message_type:
        for field in message.field:
            if field.type_name.startswith(old):
                field.type_name = new + field.type_name[len(old):]
    for service in proto.service:
        for method in service.method:
            method.input_type = new + method.input_type[len(old):]
            method.output_type = new + method.output_type[len(old):]
    return proto


def echo_file() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto(
        name="selftest/echo.proto", package="selftest", syntax="proto3",
        dependency=["google/protobuf/timestamp.proto"],
    )
    req = proto.message_type.add(name="EchoRequest")
    req.field.add(name="text", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                  label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    req.field.add(name="at", number=2, type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
                  label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
                  type_name=".google.protobuf.Timestamp")
    reply = proto.message_type.add(name="EchoReply")
    reply.field.add(name="text", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                    label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    svc = proto.service.add(name="Echo")
    svc.method.add(name="Say", input_type=".selftest.EchoRequest", output_type=".selftest.EchoReply")
    svc.method.add(name="Watch", input_type=".selftest.EchoRequest", output_type=".selftest.EchoReply",
                   server_streaming=True)
    svc.method.add(name="Upload", input_type=".selftest.EchoRequest", output_type=".selftest.EchoReply",
                   client_streaming=True)
    return proto


def build_pool() -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    for proto in (file_proto(timestamp_pb2.DESCRIPTOR), echo_file(),
                  file_proto(v1alpha_pb2.DESCRIPTOR), v1_reflection_file()):
        pool.AddSerializedFile(proto.SerializeToString())
    return pool


def echo_handler() -> grpc.GenericRpcHandler:
    # The test service's messages are never decoded: raw bytes in, raw bytes out.
    ident = lambda b: b  # noqa: E731
    return grpc.method_handlers_generic_handler("selftest.Echo", {
        "Say": grpc.unary_unary_rpc_method_handler(lambda req, ctx: req, ident, ident),
        "Watch": grpc.unary_stream_rpc_method_handler(lambda req, ctx: iter([req]), ident, ident),
        "Upload": grpc.stream_unary_rpc_method_handler(lambda reqs, ctx: b"", ident, ident),
    })


def start_server(dual: bool) -> tuple[grpc.Server, str]:
    pool = build_pool()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((echo_handler(),))
    names = ["selftest.Echo", V1ALPHA_SERVICE] + ([V1_SERVICE] if dual else [])
    if dual:
        servicer = reflection.ReflectionServicer(names, pool=pool)
        for service in (V1ALPHA_SERVICE, V1_SERVICE):
            server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, {
                "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
                    servicer.ServerReflectionInfo,
                    request_deserializer=v1alpha_pb2.ServerReflectionRequest.FromString,
                    response_serializer=v1alpha_pb2.ServerReflectionResponse.SerializeToString,
                ),
            }),))
    else:
        reflection.enable_server_reflection(names, server, pool=pool)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}"


REFLECTION_METHODS = {
    "ServerReflectionInfo": {
        "input": "{pkg}.ServerReflectionRequest",
        "output": "{pkg}.ServerReflectionResponse",
        "server_streaming": True,
    }
}


def expected_services(dual: bool) -> dict:
    def refl(pkg):
        return {"methods": {m: {k: (v.format(pkg=pkg) if isinstance(v, str) else v) for k, v in d.items()}
                            for m, d in REFLECTION_METHODS.items()}}
    services = {
        "selftest.Echo": {"methods": {
            "Say": {"input": "selftest.EchoRequest", "output": "selftest.EchoReply", "server_streaming": False},
            "Watch": {"input": "selftest.EchoRequest", "output": "selftest.EchoReply", "server_streaming": True},
            "Upload": {"input": "selftest.EchoRequest", "output": "selftest.EchoReply", "server_streaming": False},
        }},
        V1ALPHA_SERVICE: refl("grpc.reflection.v1alpha"),
    }
    if dual:
        services[V1_SERVICE] = refl("grpc.reflection.v1")
    return {"services": services}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_check_reflection() -> None:
    script = os.path.join(HERE, "check_reflection.py")
    for dual in (False, True):
        server, address = start_server(dual)
        kind = "dual v1+v1alpha server" if dual else "stock v1alpha server"
        try:
            p = run([script, address])
            ok = p.returncode == 0 and json.loads(p.stdout) == expected_services(dual)
            check(f"check_reflection.py (v1alpha) on {kind}", ok,
                  f"rc={p.returncode} {p.stderr.decode()} {p.stdout.decode()}")
            alpha_out = p.stdout
            p = run([script, "--v1", address])
            if dual:
                ok = p.returncode == 0 and p.stdout == alpha_out
                check(f"check_reflection.py --v1 on {kind}: same JSON", ok,
                      f"rc={p.returncode} {p.stderr.decode()} {p.stdout.decode()}")
            else:
                ok = p.returncode != 0 and p.stdout == b"" and b"UNIMPLEMENTED" in p.stderr
                check(f"check_reflection.py --v1 on {kind}: fails with UNIMPLEMENTED", ok,
                      f"rc={p.returncode} {p.stderr.decode()}")
        finally:
            server.stop(None)
    p = run([script, "--timeout", "2", f"127.0.0.1:{free_port()}"])
    check("check_reflection.py on a closed port fails", p.returncode != 0 and p.stdout == b"",
          f"rc={p.returncode}")


def main() -> int:
    test_parse_metrics()
    test_check_reflection()
    failed = sum(1 for _, ok, _ in results if not ok)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
