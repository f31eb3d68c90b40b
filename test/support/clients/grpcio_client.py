"""Contract client for Python grpcio (Debian's python3-grpcio), driven by test/contract/clients/python-grpcio.test.ts.

Reads one JSON job from stdin, prints one JSON result to stdout. Messages travel as raw protobuf
bytes (base64 in the JSON): the test encodes requests and decodes responses with the generated
schemas, so this script needs nothing beyond grpcio itself. The error status
(grpc-status-details-bin, a google.rpc.Status) and the tiny health messages are decoded here by
hand, to show a Python client can read them without generated code.

Job:    {"target": "127.0.0.1:PORT",
         "unary":  [{"path": "/pkg.Service/Method", "request": B64}],
         "stream": [{"path": ..., "request": B64}],                 # read one message, then cancel
         "bidi":   [{"path": ..., "requests": [B64, ...]}]}
Result: {"grpc_version": "...",
         "unary":  [{"ok": true, "response": B64} | {"ok": false, "code": INT, "message": STR, "status": STATUS|null}],
         "stream": [{"first": B64, "after_cancel": INT}],
         "bidi":   [{"responses": [B64, ...], "code": INT}],
         "health": {"serving": INT, "nope": {"code": INT, "status": STATUS|null}}}
STATUS: {"code": INT, "message": STR, "details": [{"type": STR, "value": B64}]}
"""

import base64
import json
import sys

import grpc

TIMEOUT = 10.0


def identity(b):
    return b


def b64(b):
    return base64.b64encode(b).decode("ascii")


def unb64(s):
    return base64.b64decode(s)


# --- a minimal protobuf reader/writer: varints and length-delimited fields are all we need ---


def read_varint(buf, i):
    shift = result = 0
    while True:
        byte = buf[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, i
        shift += 7


def fields(buf):
    """Yields (field number, wire type, value) for every field of a message."""
    i = 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = read_varint(buf, i)
        elif wire == 2:
            length, i = read_varint(buf, i)
            value, i = buf[i : i + length], i + length
        elif wire == 1:
            value, i = buf[i : i + 8], i + 8
        elif wire == 5:
            value, i = buf[i : i + 4], i + 4
        else:
            raise ValueError("unsupported wire type %d" % wire)
        yield number, wire, value


def encode_varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def health_check_request(service):
    """grpc.health.v1.HealthCheckRequest{service = 1}."""
    raw = service.encode("utf-8")
    return (b"\x0a" + encode_varint(len(raw)) + raw) if raw else b""


def health_status(buf):
    """grpc.health.v1.HealthCheckResponse.status (field 1, enum); 0 when absent."""
    for number, wire, value in fields(buf):
        if number == 1 and wire == 0:
            return value
    return 0


def decode_status(buf):
    """google.rpc.Status{code = 1, message = 2, details = 3 (Any{type_url = 1, value = 2})}."""
    out = {"code": 0, "message": "", "details": []}
    for number, wire, value in fields(buf):
        if number == 1 and wire == 0:
            out["code"] = value
        elif number == 2 and wire == 2:
            out["message"] = value.decode("utf-8")
        elif number == 3 and wire == 2:
            type_url, detail = "", b""
            for n, w, v in fields(value):
                if n == 1 and w == 2:
                    type_url = v.decode("utf-8")
                elif n == 2 and w == 2:
                    detail = v
            out["details"].append({"type": type_url.rsplit("/", 1)[-1], "value": b64(detail)})
    return out


def error_of(err):
    status = None
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = decode_status(value)
    return {"ok": False, "code": err.code().value[0], "message": err.details(), "status": status}


def main():
    job = json.load(sys.stdin)
    options = [("grpc.enable_http_proxy", 0), ("grpc.enable_retries", 0)]
    result = {"grpc_version": grpc.__version__, "unary": [], "stream": [], "bidi": []}
    with grpc.insecure_channel(job["target"], options=options) as channel:
        grpc.channel_ready_future(channel).result(timeout=TIMEOUT)

        for call in job.get("unary", []):
            method = channel.unary_unary(call["path"], request_serializer=identity, response_deserializer=identity)
            try:
                result["unary"].append({"ok": True, "response": b64(method(unb64(call["request"]), timeout=TIMEOUT))})
            except grpc.RpcError as err:
                result["unary"].append(error_of(err))

        for call in job.get("stream", []):
            method = channel.unary_stream(call["path"], request_serializer=identity, response_deserializer=identity)
            responses = method(unb64(call["request"]), timeout=TIMEOUT)
            first = next(responses)
            responses.cancel()
            try:
                for _ in responses:
                    pass
                after = 0
            except grpc.RpcError as err:
                after = err.code().value[0]
            result["stream"].append({"first": b64(first), "after_cancel": after})

        for call in job.get("bidi", []):
            method = channel.stream_stream(call["path"], request_serializer=identity, response_deserializer=identity)
            out = {"responses": [], "code": 0}
            try:
                for response in method(iter([unb64(r) for r in call["requests"]]), timeout=TIMEOUT):
                    out["responses"].append(b64(response))
            except grpc.RpcError as err:
                out["code"] = err.code().value[0]
            result["bidi"].append(out)

        # The same health calls with messages encoded and decoded here, by hand.
        check = channel.unary_unary("/grpc.health.v1.Health/Check", request_serializer=identity, response_deserializer=identity)
        result["health"] = {"serving": health_status(check(health_check_request(""), timeout=TIMEOUT))}
        try:
            check(health_check_request("nope"), timeout=TIMEOUT)
            result["health"]["nope"] = {"code": 0, "status": None}
        except grpc.RpcError as err:
            e = error_of(err)
            result["health"]["nope"] = {"code": e["code"], "status": e["status"]}

    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
