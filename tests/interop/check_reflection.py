#!/usr/bin/env python3
"""Describe a gRPC server's services through gRPC server reflection, using
grpcio / grpcio-reflection as an independent, third-party client, and print
the result as JSON on stdout.

Used by agenda's tests to check that the service's reflection endpoint is
complete: every listed service must resolve, with all the files it depends
on, into a descriptor pool.

Usage:  check_reflection.py [--v1] [--timeout SECONDS] ADDRESS

  ADDRESS        host:port, plaintext (no TLS), e.g. 127.0.0.1:50051
  --v1           use the v1 reflection service,
                 /grpc.reflection.v1.ServerReflection/ServerReflectionInfo,
                 instead of the default v1alpha one,
                 /grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo
  --timeout S    seconds to wait for the connection, and the deadline of each
                 reflection call (default 10)

Output (same shape in both modes; keys sorted):

    {
      "services": {
        SERVICE_FULL_NAME: {
          "methods": {
            METHOD_NAME: {
              "input":  full name of the request message, e.g. "pkg.GetRequest",
              "output": full name of the response message,
              "server_streaming": true | false
            }
          }
        }
      }
    }

Every service the server lists is reported, the reflection service itself
included when the server lists it.

How: v1alpha mode uses grpcio-reflection's ProtoReflectionDescriptorDatabase
(ListServices, then FindFileContainingSymbol for each service).  grpcio-
reflection ships v1alpha protos only (no grpc_reflection.v1 package, at least
up to 1.85), so v1 mode sends the very same request messages (the v1 and
v1alpha wire formats are identical, only the service name differs) over a
generic stream_stream call to the v1 method; if a grpc_reflection.v1 module
with its own reflection_pb2 is installed, its messages are used instead.
In both modes each service's file is then loaded into a fresh DescriptorPool
backed by the reflection database, so every (transitive) import has to be
served too (FileByFilename), and the methods are read from that pool.

Errors (cannot connect, an RPC fails, e.g. UNIMPLEMENTED when the server has
no reflection service of the requested version, an error response, a listed
service whose file cannot be found or does not define it, a file that does not
build, a service listed twice): a message on stderr, nothing on stdout, exit
status 1.  Bad usage: exit status 2.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor_database import DescriptorDatabase
from grpc_reflection.v1alpha import reflection_pb2 as v1alpha_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

try:  # not in grpcio-reflection <= 1.85; the wire format is the same anyway
    from grpc_reflection.v1 import reflection_pb2 as v1_pb2  # type: ignore
except ImportError:
    v1_pb2 = v1alpha_pb2

V1_METHOD = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"


class ReflectionError(Exception):
    pass


class _CallDetails(
    collections.namedtuple(
        "_CallDetails",
        ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"),
    ),
    grpc.ClientCallDetails,
):
    pass


class _DeadlineInterceptor(grpc.StreamStreamClientInterceptor):
    """Gives every stream-stream call a deadline (ProtoReflectionDescriptorDatabase sets none)."""

    def __init__(self, timeout: float):
        self._timeout = timeout

    def intercept_stream_stream(self, continuation, client_call_details, request_iterator):
        details = _CallDetails(
            client_call_details.method,
            self._timeout,
            client_call_details.metadata,
            client_call_details.credentials,
            getattr(client_call_details, "wait_for_ready", None),
            getattr(client_call_details, "compression", None),
        )
        return continuation(details, request_iterator)


class V1ReflectionDescriptorDatabase(DescriptorDatabase):
    """The subset of ProtoReflectionDescriptorDatabase that this script uses,
    over grpc.reflection.v1.ServerReflection.  One stream per request; the
    server must answer it with exactly one response and then end the stream."""

    def __init__(self, channel: grpc.Channel, pb2=v1_pb2):
        super().__init__()
        self._pb2 = pb2
        self._call = channel.stream_stream(
            V1_METHOD,
            request_serializer=pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=pb2.ServerReflectionResponse.FromString,
        )
        self._known_files: set[str] = set()

    def _request(self, key, expect: str, **fields):
        request = self._pb2.ServerReflectionRequest(**fields)
        responses = list(self._call(iter([request])))
        if len(responses) != 1:
            raise ReflectionError(f"{V1_METHOD}: {len(responses)} responses to one request ({fields})")
        response = responses[0]
        which = response.WhichOneof("message_response")
        if which == "error_response":
            err = response.error_response
            if err.error_code == grpc.StatusCode.NOT_FOUND.value[0]:
                raise KeyError(key)
            raise ReflectionError(f"error response to {fields}: code {err.error_code}: {err.error_message}")
        if which != expect:
            raise ReflectionError(f"response to {fields} is {which}, expected {expect}")
        return getattr(response, which)

    def _add_files(self, file_descriptor_response) -> None:
        for raw in file_descriptor_response.file_descriptor_proto:
            proto = descriptor_pb2.FileDescriptorProto.FromString(raw)
            if proto.name not in self._known_files:
                self._known_files.add(proto.name)
                self.Add(proto)

    def get_services(self) -> list[str]:
        listed = self._request("", "list_services_response", list_services="")
        return [s.name for s in listed.service]

    def FindFileByName(self, name: str) -> descriptor_pb2.FileDescriptorProto:
        try:
            return super().FindFileByName(name)
        except KeyError:
            pass
        self._add_files(self._request(name, "file_descriptor_response", file_by_filename=name))
        return super().FindFileByName(name)

    def FindFileContainingSymbol(self, symbol: str) -> descriptor_pb2.FileDescriptorProto:
        try:
            return super().FindFileContainingSymbol(symbol)
        except KeyError:
            pass
        self._add_files(
            self._request(symbol, "file_descriptor_response", file_containing_symbol=symbol)
        )
        return super().FindFileContainingSymbol(symbol)


def describe(db) -> dict:
    names = list(db.get_services())
    if len(set(names)) != len(names):
        raise ReflectionError(f"a service is listed more than once: {names}")
    pool = descriptor_pool.DescriptorPool(db)
    services = {}
    for name in sorted(names):
        try:
            file_proto = db.FindFileContainingSymbol(name)
        except KeyError:
            raise ReflectionError(f"service {name!r} is listed, but no file containing it is served")
        try:
            service = pool.FindServiceByName(name)
        except KeyError as e:
            raise ReflectionError(
                f"service {name!r}: file {file_proto.name!r} does not define it or does not build: {e}"
            )
        if service.file.name != file_proto.name:
            raise ReflectionError(
                f"service {name!r}: found in {service.file.name!r}, but the server said {file_proto.name!r}"
            )
        methods = {}
        for method in service.methods:
            methods[method.name] = {
                "input": method.input_type.full_name,
                "output": method.output_type.full_name,
                "server_streaming": bool(method.server_streaming),
            }
        services[name] = {"methods": methods}
    return {"services": services}


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="check_reflection.py",
        description="Describe a gRPC server's services through server reflection, as JSON.",
    )
    parser.add_argument("address", metavar="ADDRESS", help="host:port (plaintext)")
    parser.add_argument("--v1", action="store_true", help="use grpc.reflection.v1 instead of v1alpha")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="connect timeout and per-call deadline (default 10)")
    args = parser.parse_args()
    if args.timeout <= 0:
        parser.error("--timeout must be positive")

    api = "v1" if args.v1 else "v1alpha"
    try:
        with grpc.insecure_channel(args.address) as raw_channel:
            try:
                grpc.channel_ready_future(raw_channel).result(timeout=args.timeout)
            except grpc.FutureTimeoutError:
                raise ReflectionError(f"cannot connect to {args.address} within {args.timeout:g}s")
            channel = grpc.intercept_channel(raw_channel, _DeadlineInterceptor(args.timeout))
            if args.v1:
                db = V1ReflectionDescriptorDatabase(channel)
            else:
                db = ProtoReflectionDescriptorDatabase(channel)
            result = describe(db)
    except grpc.RpcError as e:
        code = e.code() if hasattr(e, "code") else None
        details = e.details() if hasattr(e, "details") else str(e)
        name = code.name if code is not None else "?"
        print(f"check_reflection.py: {api} reflection on {args.address}: RPC failed: {name}: {details}",
              file=sys.stderr)
        return 1
    except ReflectionError as e:
        print(f"check_reflection.py: {api} reflection on {args.address}: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # e.g. AssertionError from grpcio-reflection on an error response
        print(f"check_reflection.py: {api} reflection on {args.address}: {type(e).__name__}: {e}",
              file=sys.stderr)
        return 1
    out = json.dumps(result, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    sys.stdout.buffer.write(out.encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
