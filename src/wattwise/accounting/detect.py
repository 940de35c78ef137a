"""Cloud provider and region from the instance metadata service — only when asked.

wattwise never touches the network by default. With ``--detect-cloud`` the three providers'
metadata services are asked in parallel, each with a short timeout (0.5 s by default), and the
first that answers gives the provider and region:

* AWS (IMDSv2): ``PUT /latest/api/token`` then ``GET /latest/meta-data/placement/region``
  (docs.aws.amazon.com, "Use IMDSv2").
* Google Cloud: ``GET /computeMetadata/v1/instance/zone`` with ``Metadata-Flavor: Google``;
  the answer ``projects/N/zones/europe-west1-b`` gives region ``europe-west1``.
* Azure: ``GET /metadata/instance/compute/location?api-version=2021-02-01&format=text`` with
  ``Metadata: true`` gives e.g. ``westeurope``.

The real endpoints are link-local (169.254.169.254, metadata.google.internal). Tests and proxies
point all three at another base URL with ``WATTWISE_CLOUD_METADATA_URL``.
"""

from __future__ import annotations

import concurrent.futures
import os
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass

ENV_VAR = "WATTWISE_CLOUD_METADATA_URL"
AWS_BASE = "http://169.254.169.254"
GCP_BASE = "http://metadata.google.internal"
AZURE_BASE = "http://169.254.169.254"


@dataclass(frozen=True)
class CloudLocation:
    """Where the instance runs, and which metadata service said so."""

    cloud: str  # aws | gcp | azure
    region: str
    source: str


def _request(
    url: str, timeout_s: float, method: str = "GET", headers: Mapping[str, str] | None = None
) -> str:
    req = urllib.request.Request(url, method=method, headers=dict(headers or {}))
    # No proxy: the metadata service is on the instance's own link.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=timeout_s) as resp:
        body: bytes = resp.read(4096)
    return body.decode("utf-8", errors="replace").strip()


def _aws(base: str, timeout_s: float) -> CloudLocation:
    token = _request(
        f"{base}/latest/api/token", timeout_s, "PUT", {"X-aws-ec2-metadata-token-ttl-seconds": "60"}
    )
    region = _request(
        f"{base}/latest/meta-data/placement/region",
        timeout_s,
        headers={"X-aws-ec2-metadata-token": token},
    )
    return CloudLocation("aws", region, "AWS instance metadata (IMDSv2) placement/region")


def _gcp(base: str, timeout_s: float) -> CloudLocation:
    zone = _request(
        f"{base}/computeMetadata/v1/instance/zone", timeout_s, headers={"Metadata-Flavor": "Google"}
    )
    zone_name = zone.rsplit("/", 1)[-1]
    region = zone_name.rsplit("-", 1)[0] if zone_name.count("-") >= 2 else zone_name
    return CloudLocation("gcp", region, f"Google Cloud metadata server zone {zone_name}")


def _azure(base: str, timeout_s: float) -> CloudLocation:
    loc = _request(
        f"{base}/metadata/instance/compute/location?api-version=2021-02-01&format=text",
        timeout_s,
        headers={"Metadata": "true"},
    )
    return CloudLocation("azure", loc.lower(), "Azure Instance Metadata Service location")


def detect_cloud(
    timeout_s: float = 0.5, environ: Mapping[str, str] | None = None
) -> tuple[CloudLocation | None, list[str]]:
    """Ask the metadata services; return the location found (or None) and why others failed."""
    env = os.environ if environ is None else environ
    override = env.get(ENV_VAR)
    probes: dict[str, tuple[Callable[[str, float], CloudLocation], str]] = {
        "aws": (_aws, override or AWS_BASE),
        "gcp": (_gcp, override or GCP_BASE),
        "azure": (_azure, override or AZURE_BASE),
    }
    reasons: list[str] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        futures = {pool.submit(fn, base, timeout_s): name for name, (fn, base) in probes.items()}
        found: list[CloudLocation] = []
        for fut in concurrent.futures.as_completed(futures):
            try:
                loc = fut.result()
            except Exception as exc:
                reasons.append(f"{futures[fut]}: {type(exc).__name__}: {exc}")
                continue
            if loc.region:
                found.append(loc)
    if not found:
        return None, reasons
    order = list(probes)
    found.sort(key=lambda loc: order.index(loc.cloud))
    return found[0], reasons
