"""Pages become columns as they arrive: peak memory stays near the final frame's size.

Memory is counted on both heaps a read uses: Python's (``tracemalloc``) and Arrow's (a
proxy of Arrow's memory pool made the default for the read, so every Arrow buffer is
counted: parsed pages, string columns, the frame's own Arrow-backed strings). The two
peaks are added, which can only over-count (they need not fall at the same moment).
"""

from __future__ import annotations

import gc
import json
import tracemalloc
from urllib.parse import parse_qs, urlsplit

import pyarrow as pa
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from crmframe.facade.crm import connect

FIELDS = [
    ("Last_Name", "text", "string"), ("Email", "email", "string"),
    ("Company", "text", "string"), ("No_of_Employees", "integer", "integer"),
    ("Annual_Revenue", "currency", "double"), ("Email_Opt_Out", "boolean", "boolean"),
    ("Created_Time", "datetime", "string"), ("Lead_Status", "picklist", "string"),
]
PAGES = 40
# Arrow buffers made through a proxy pool free themselves through it: the pool must outlive
# every frame the test made, so it is kept here for the life of the process.
_POOLS: list[pa.MemoryPool] = []


def page_bytes(page: int) -> bytes:
    rows = []
    for n in range(200):
        i = page * 200 + n
        rows.append({"id": str(4876876000000000000 + i), "Last_Name": f"Name {i}",
                     "Email": f"person{i}@example.com", "Company": f"Company {i % 97}",
                     "No_of_Employees": i % 500, "Annual_Revenue": i * 10.5,
                     "Email_Opt_Out": i % 2 == 0, "Created_Time": "2024-05-11T18:22:29+05:30",
                     "Lead_Status": "Contacted", "$approved": True, "$editable": True,
                     "$state": "save", "$process_flow": False})
    info = {"more_records": page < PAGES, "per_page": 200, "count": 200, "page": page,
            "next_page_token": f"t{page + 1}"}
    return json.dumps({"data": rows, "info": info}).encode()


class Replay(BaseAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.pages = {p: page_bytes(p) for p in range(1, PAGES + 1)}
        meta = {"fields": [{"api_name": "id", "data_type": "bigint", "json_type": "string"}]
                + [{"api_name": a, "data_type": d, "json_type": j} for a, d, j in FIELDS]}
        self.meta = json.dumps(meta).encode()

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        url = urlsplit(request.url or "")
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path.endswith("/settings/fields"):
            body = self.meta
        elif url.path.endswith("/actions/count"):
            body = json.dumps({"count": PAGES * 200}).encode()
        else:
            page = int(query["page_token"][1:]) if "page_token" in query else int(query["page"])
            body = self.pages[page]
        response = requests.Response()
        response.status_code = 200
        response._content = body
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json"})
        response.request = request
        return response

    def close(self) -> None:
        pass


def test_peak_memory_is_under_three_times_the_frame() -> None:
    session = requests.Session()
    session.mount("https://", Replay())
    names = [name for name, _, _ in FIELDS]
    with connect("1000.a.b", "https://www.zohoapis.com", session=session) as crm:
        crm.read_fields("Leads")
        gc.collect()
        previous = pa.default_memory_pool()
        pool = pa.proxy_memory_pool(previous)
        _POOLS.append(pool)
        pa.set_memory_pool(pool)
        try:
            tracemalloc.start()
            frame = crm.read_records("Leads", names)
            _, python_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        finally:
            pa.set_memory_pool(previous)
    session.close()
    arrow_peak = pool.max_memory()
    peak = python_peak + arrow_peak
    # memory_usage(deep=True) counts Arrow-backed columns by their buffers' sizes
    size = int(frame.memory_usage(deep=True).sum())
    assert len(frame) == PAGES * 200
    assert arrow_peak > 0  # the pool did see the read's Arrow buffers
    assert peak < 3 * size, (
        f"peak {python_peak / 2**20:.1f} MiB (Python) + {arrow_peak / 2**20:.1f} MiB (Arrow) "
        f"vs frame {size / 2**20:.1f} MiB"
    )
    # Holding every parsed page instead (what a naive loop does) costs far more:
    tracemalloc.start()
    held = [json.loads(page_bytes(p)) for p in range(1, PAGES + 1)]
    _, naive = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(held) == PAGES
    assert naive > peak
