"""Whether a joined Ray cluster has token authentication: a joined cluster without it is
said once, on stderr (a warning), not joined in silence.

nnsynth refuses to start a local Ray without token authentication (``connect``), but a
cluster it joins (``--address``, RAY_ADDRESS, a ``ray job submit`` job's driver) is the
user's: a head started by ``ray start`` has token authentication only with RAY_AUTH_MODE=token
(Ray 2.60), and without it anyone who can reach its ports can run code there -- in this
run's workers too.  Ray warns of it where such a head starts, never where a client joins.

A cluster's servers check a token only when their own mode is token, so one call that
carries no token tells: answered, the cluster runs without token authentication; refused as
UNAUTHENTICATED, with it.  The call is the first one each client makes: the GCS's
GetClusterId (a ``HOST:PORT`` address) or the Ray Client server's ClusterInfo ping
(``ray://HOST:PORT``).
"""
from __future__ import annotations

import logging
import os

from cluster.addresses import GCS_CHECK_SECONDS, host_port

log = logging.getLogger("cluster.connect")     # said where connect says its other lines

_WARNED: set = set()
OPEN_CLUSTER = ("the Ray cluster at {address} runs without token authentication: anyone who "
                "can reach its ports can run code on it, in this run's workers too; start "
                "every node of it with RAY_AUTH_MODE=token and one shared token (README, "
                "Clusters)")


def _tokenless_channel(target: str):
    """A gRPC channel to ``target`` as Ray's own (TLS where RAY_USE_TLS says so), without
    the token interceptor Ray adds in token mode."""
    import grpc
    if os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true"):   # as Ray reads it
        from ray._common.tls_utils import load_certs_from_env
        chain, key, ca = load_certs_from_env()
        return grpc.secure_channel(target, grpc.ssl_channel_credentials(
            certificate_chain=chain, private_key=key, root_certificates=ca))
    return grpc.insecure_channel(target)


def answers_without_token(address: str, timeout: float = GCS_CHECK_SECONDS) -> bool | None:
    """Whether the cluster at ``address`` answers a call that carries no token: True (its
    token authentication is off), False (refused as unauthenticated: it is on), None where
    that cannot be told (another form of address, no answer, another error)."""
    client = address.strip().startswith("ray://")
    where = host_port(address.strip()[len("ray://"):] if client else address)
    if where is None:
        return None
    host, port = where
    host = f"[{host}]" if ":" in host else host
    try:
        import grpc
        channel = _tokenless_channel(f"{host}:{port}")
    except Exception as e:      # another Ray's internals: nothing is said
        log.debug("no token check of %s: %s", address, e)
        return None
    try:
        if client:
            from ray.core.generated import ray_client_pb2, ray_client_pb2_grpc
            ray_client_pb2_grpc.RayletDriverStub(channel).ClusterInfo(
                ray_client_pb2.ClusterInfoRequest(type=ray_client_pb2.ClusterInfoType.PING),
                timeout=timeout)
        else:
            from ray.core.generated import gcs_service_pb2, gcs_service_pb2_grpc
            gcs_service_pb2_grpc.NodeInfoGcsServiceStub(channel).GetClusterId(
                gcs_service_pb2.GetClusterIdRequest(), timeout=timeout)
        return True
    except grpc.RpcError as e:
        if e.code() == grpc.StatusCode.UNAUTHENTICATED:
            return False
        log.debug("token check of %s: %s", address, e)
        return None
    finally:
        channel.close()


def warn_if_open(address: str) -> bool:
    """After joining the cluster at ``address`` (its GCS ``HOST:PORT``, or the
    ``ray://`` address of a Ray Client connection): one warning, once per address and
    process, where it answers without a token.  Returns whether it warned."""
    if address in _WARNED or not answers_without_token(address):
        return False
    _WARNED.add(address)
    log.warning(OPEN_CLUSTER.format(address=address))
    return True
