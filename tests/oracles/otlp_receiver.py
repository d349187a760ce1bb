"""A minimal OTLP/gRPC receiver: writes every span and metric name it gets as
JSON lines, so tests can assert on what the services exported.

usage: otlp_receiver.py <port> <output.jsonl> [<cert.pem> <key.pem>]

With a certificate and key it serves OTLP over TLS.
"""
import json
import sys
import threading
from concurrent import futures

import grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

lock = threading.Lock()
out = open(sys.argv[2], "a", buffering=1, encoding="utf-8")


def write(record):
    with lock:
        out.write(json.dumps(record) + "\n")


def service_name(resource):
    for attr in resource.attributes:
        if attr.key == "service.name":
            return attr.value.string_value
    return ""


class Traces(trace_service_pb2_grpc.TraceServiceServicer):
    def Export(self, request, context):
        for rs in request.resource_spans:
            service = service_name(rs.resource)
            for ss in rs.scope_spans:
                for span in ss.spans:
                    write({
                        "type": "span",
                        "service": service,
                        "name": span.name,
                        "kind": span.kind,
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex(),
                        "status": span.status.code,
                        "links": [link.trace_id.hex() for link in span.links],
                        "attributes": {a.key: str(a.value).strip() for a in span.attributes},
                    })
        return trace_service_pb2.ExportTraceServiceResponse()


class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
    def Export(self, request, context):
        for rm in request.resource_metrics:
            service = service_name(rm.resource)
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    write({"type": "metric", "service": service, "name": metric.name})
        return metrics_service_pb2.ExportMetricsServiceResponse()


server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), server)
metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), server)
if len(sys.argv) > 4:
    with open(sys.argv[3], "rb") as cert, open(sys.argv[4], "rb") as key:
        credentials = grpc.ssl_server_credentials([(key.read(), cert.read())])
    server.add_secure_port(f"127.0.0.1:{sys.argv[1]}", credentials)
else:
    server.add_insecure_port(f"127.0.0.1:{sys.argv[1]}")
server.start()
print("ready", flush=True)
server.wait_for_termination()
