"""The users report as Prefect 0.15 users wrote it (``with Flow(...)``, ``Parameter``,
``flow.run()``), running on Headwater with only ``prefect`` replaced by ``headwater``.

Compare with first_flow.py, the same report written with ``@flow``. Run it (it starts its own
offline "user API" on 127.0.0.1, see fake_user_api.py):

    python examples/tutorials/first_flow_015.py            # 10 users, then 20
"""

from __future__ import annotations

import csv
import json
import sys
import urllib.request
from datetime import timedelta
from pathlib import Path

import headwater
from headwater import Flow, Parameter, task

PUBLIC_API = "https://randomuser.me/api/"
COLUMNS = ["name", "email", "username", "age", "city", "country"]


@task(max_retries=3, retry_delay=timedelta(seconds=1))
def fetch_users(api_url, n_users):
    """Download ``n_users`` users from the API (retried: the network is the flaky part)."""
    with urllib.request.urlopen(f"{api_url}?results={n_users}", timeout=10) as response:
        return json.load(response)["results"]


@task
def parse_users(users):
    """Flatten the API's nested records into table rows."""
    return [
        {
            "name": f"{u['name']['first']} {u['name']['last']}",
            "email": u["email"],
            "username": u["login"]["username"],
            "age": u["dob"]["age"],
            "city": u["location"]["city"],
            "country": u["location"]["country"],
        }
        for u in users
    ]


@task(log_stdout=True)
def save_report(rows, path):
    """Write the rows to a CSV file and return its path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    headwater.context.logger.info("%d users from %d countries", len(rows), len({r["country"] for r in rows}))
    print(f"Report with {len(rows)} users written to {target}")
    return str(target)


with Flow("Users report") as flow:
    n_users = Parameter("n_users", default=10)
    api_url = Parameter("api_url", default=PUBLIC_API)
    output = Parameter("output", default="user_report.csv")
    users = fetch_users(api_url, n_users)
    rows = parse_users(users)
    report = save_report(rows, output)


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from fake_user_api import serve

    out_dir = Path(argv[0]) if argv else Path(".")
    with serve() as url:
        for n in (10, 20):
            state = flow.run(n_users=n, api_url=url, output=str(out_dir / f"user_report_{n}.csv"))
            if not state.is_successful():
                print(f"the flow failed: {state.message}", file=sys.stderr)
                return 1
            print(state.result[report].result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
