"""The classic first flow, on Headwater: download user data, parse it into a table, save a CSV report.

Run it (it starts its own offline "user API" on 127.0.0.1, see fake_user_api.py):

    python examples/tutorials/first_flow.py                 # 10 users, then 20
    python examples/tutorials/first_flow.py --n-users 50

or against any API of the same shape:

    headwater run examples/tutorials/first_flow.py:create_user_report \
        --param n_users=20 --param api_url=http://127.0.0.1:8000/api/
"""

from __future__ import annotations

import csv
import json
import sys
import urllib.request
from pathlib import Path

from headwater import flow, get_run_logger, task

PUBLIC_API = "https://randomuser.me/api/"
COLUMNS = ["name", "email", "username", "age", "city", "country"]


@task(retries=3, retry_delay_seconds=1)
def fetch_users(api_url: str, n_users: int) -> list[dict]:
    """Download ``n_users`` users from the API (retried: the network is the flaky part)."""
    with urllib.request.urlopen(f"{api_url}?results={n_users}", timeout=10) as response:
        return json.load(response)["results"]


@task
def parse_users(users: list[dict]) -> list[dict]:
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


@task
def save_report(rows: list[dict], path: str) -> str:
    """Write the rows to a CSV file and return its path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return str(target)


@flow(log_prints=True)
def create_user_report(n_users: int = 10, api_url: str = PUBLIC_API, output: str = "user_report.csv") -> str:
    """Fetch ``n_users`` users, tabulate them and save ``output``.

    Args:
        n_users: How many users to fetch.
        api_url: The user API (the public one by default; the tutorial passes its local copy).
        output: Where the CSV report goes.
    """
    users = fetch_users(api_url, n_users)
    rows = parse_users(users)
    path = save_report(rows, output)
    countries = sorted({r["country"] for r in rows})
    get_run_logger().info("%d users from %d countries", len(rows), len(countries))
    print(f"Report with {len(rows)} users written to {path}")
    return path


def main(argv: list[str]) -> int:
    import argparse

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from fake_user_api import serve

    parser = argparse.ArgumentParser(description="Run the first-flow tutorial against a local user API.")
    parser.add_argument("--n-users", type=int, action="append", help="run once per value (default: 10, then 20)")
    parser.add_argument("--output-dir", default=".", help="where user_report_<n>.csv files go")
    args = parser.parse_args(argv)
    with serve() as api_url:
        for n in args.n_users or [10, 20]:
            create_user_report(n_users=n, api_url=api_url, output=str(Path(args.output_dir) / f"user_report_{n}.csv"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
