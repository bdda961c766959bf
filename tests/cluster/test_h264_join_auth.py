"""A joined Ray cluster without token authentication is said once, on stderr (h264).

``connect`` refuses to start a local Ray without token authentication, but joined a cluster
without it (``--address``, RAY_ADDRESS, a ``ray job submit`` job's driver) in silence: a
head started by ``ray start`` without RAY_AUTH_MODE=token runs code for anyone who reaches
its ports.  After a join, ``cluster.join_auth.warn_if_open`` makes one call that carries no
token; answered, it warns once.

The servers here are gRPC servers in this process answering Ray's first call (the GCS's
GetClusterId, the Ray Client server's ClusterInfo) as a Ray server answers a client that
sends no token: with its token authentication off (answered) or on (UNAUTHENTICATED, Ray
2.60's refusal); no Ray starts.
"""
from __future__ import annotations

import logging
from concurrent import futures

import pytest

from cluster.join_auth import answers_without_token, warn_if_open

REFUSAL = "InvalidAuthToken: Authentication token is missing or incorrect"   # Ray 2.60's


def _serve(add, servicer):
    import grpc
    server = grpc.server(futures.ThreadPoolExecutor(2))
    add(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}"


def _gcs(token: bool):
    import grpc
    from ray.core.generated import gcs_service_pb2, gcs_service_pb2_grpc

    class Gcs(gcs_service_pb2_grpc.NodeInfoGcsServiceServicer):
        def GetClusterId(self, request, context):
            if token and not dict(context.invocation_metadata()).get("authorization"):
                context.abort(grpc.StatusCode.UNAUTHENTICATED, REFUSAL)
            return gcs_service_pb2.GetClusterIdReply(cluster_id=b"\1" * 28)

    return _serve(gcs_service_pb2_grpc.add_NodeInfoGcsServiceServicer_to_server, Gcs())


@pytest.fixture
def open_gcs():
    server, address = _gcs(token=False)
    yield address
    server.stop(None)


@pytest.fixture
def token_gcs():
    server, address = _gcs(token=True)
    yield address
    server.stop(None)


def test_an_open_gcs_is_warned_of_once(open_gcs, caplog):
    assert answers_without_token(open_gcs) is True
    with caplog.at_level(logging.WARNING, logger="cluster.connect"):
        assert warn_if_open(open_gcs)
        assert not warn_if_open(open_gcs)          # once per address and process
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert lines == [
        f"the Ray cluster at {open_gcs} runs without token authentication: anyone who can "
        f"reach its ports can run code on it, in this run's workers too; start every node of "
        f"it with RAY_AUTH_MODE=token and one shared token (README, Clusters)"], lines


def test_a_token_gcs_is_not_warned_of(token_gcs, caplog):
    assert answers_without_token(token_gcs) is False
    with caplog.at_level(logging.WARNING, logger="cluster.connect"):
        assert not warn_if_open(token_gcs)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_ray_client_server_is_asked_too():
    import grpc
    from ray.core.generated import ray_client_pb2, ray_client_pb2_grpc

    class Driver(ray_client_pb2_grpc.RayletDriverServicer):
        def __init__(self, token):
            self.token = token

        def ClusterInfo(self, request, context):
            if self.token and not dict(context.invocation_metadata()).get("authorization"):
                context.abort(grpc.StatusCode.UNAUTHENTICATED, REFUSAL)
            return ray_client_pb2.ClusterInfoResponse(json="true")

    for token in (False, True):
        server, address = _serve(ray_client_pb2_grpc.add_RayletDriverServicer_to_server,
                                 Driver(token))
        try:
            assert answers_without_token(f"ray://{address}") is (not token)
        finally:
            server.stop(None)


def test_what_cannot_be_told_is_not_warned_of(caplog):
    """No answer, another form of address: nothing is said (the join itself failed or
    succeeded; this check only adds the warning)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{s.getsockname()[1]}"
    for address in (closed, "auto", "ray://nohost"):
        assert answers_without_token(address, timeout=1) is None, address
        assert not warn_if_open(address)
