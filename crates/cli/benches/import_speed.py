"""The peer of `orderport import` in benches/import_speed.rs: fetch every export page with
urllib, parse it with xmltodict, convert the dates from the store's wall clock to UTC, and write
one JSON line per order. Usage: import_speed.py URL USER PASSWORD ZONE OUT"""
import base64
import json
import sys
import urllib.request
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import xmltodict

url, user, password, zone, out = sys.argv[1:6]
tz = ZoneInfo(zone)
auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def utc(text):
    if not text:
        return None
    for fmt in ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M %p"):
        try:
            wall = datetime.strptime(text.strip(), fmt)
            return wall.replace(tzinfo=tz).astimezone(timezone.utc).isoformat()
        except ValueError:
            continue
    return None


with open(out, "w") as sink:
    page, pages = 1, 1
    while page <= pages:
        request = urllib.request.Request(f"{url}?action=export&page={page}", headers={"Authorization": auth})
        with urllib.request.urlopen(request) as reply:
            doc = xmltodict.parse(reply.read())
        root = doc["Orders"] or {}
        pages = int(doc["Orders"].get("@pages", 1)) if isinstance(doc["Orders"], dict) else 1
        orders = root.get("Order", []) if isinstance(root, dict) else []
        if isinstance(orders, dict):
            orders = [orders]
        for order in orders:
            for field in ("OrderDate", "LastModified", "PaymentDate"):
                order[field] = utc(order.get(field))
            sink.write(json.dumps(order))
            sink.write("\n")
        page += 1
