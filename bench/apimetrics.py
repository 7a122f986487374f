"""The API server's own request counters (/metrics), read before and after each
measurement: how many calls of which kind each one cost the control plane."""
from __future__ import annotations

import re
import ssl
from collections import Counter
from pathlib import Path

import aiohttp

from devcluster import kubeconfig

_LINE = re.compile(r'^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$')
_LABEL = re.compile(r'(\w+)="([^"]*)"')

Counts = Counter[str]


async def request_counts(kubeconfig_path: Path) -> Counts:
    """apiserver_request_total summed by "VERB resource[/subresource]"; empty if the
    identity may not read /metrics."""
    access = kubeconfig.read(kubeconfig_path)
    context = ssl.create_default_context(cadata=access.ca_data.decode())
    headers = {"Authorization": f"Bearer {access.token}"}
    counts: Counts = Counter()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            async with http.get(access.server + "/metrics", headers=headers, ssl=context) as resp:
                if resp.status != 200:
                    return counts
                text = await resp.text()
    except (aiohttp.ClientError, OSError):
        return counts
    for line in text.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        labels = dict(_LABEL.findall(m.group("labels")))
        if labels.get("verb") in ("WATCH", "CONNECT"):
            continue
        what = labels.get("resource", "")
        if labels.get("subresource"):
            what += "/" + labels["subresource"]
        key = f"{labels.get('verb', '?')} {what}"
        code = labels.get("code", "")
        if code and not code.startswith("2"):
            key += f" → {code}"  # conflicts, throttling, errors: shown apart
        counts[key] += int(float(m.group("value")))
    return counts


def delta(before: Counts, after: Counts, top: int = 20) -> dict[str, int]:
    """The largest increases, largest first, every non-2xx one, and the total."""
    diff = Counter({k: after[k] - before.get(k, 0) for k in after})
    diff = +diff  # drop zero and negative
    result = dict(diff.most_common(top))
    result.update({k: v for k, v in diff.items() if "→" in k})
    result["(total)"] = sum(diff.values())
    return result
