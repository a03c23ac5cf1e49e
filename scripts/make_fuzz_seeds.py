"""Writes the seed corpora of cpp/fuzz/corpus/ (and tests/fuzz/corpus/) from slices of the project's real data.

Text targets get the first lines of real files, byte for byte; binary targets get real values (daily
means, hourly ozone, site ids, dates) encoded in the harness's layout (see each fuzz_*.cpp); the
payload target (tests/fuzz/fuzz_payloads.py) gets small real payloads of each kind. Run from
the repository root: `.venv/bin/python cpp/fuzz/make_seeds.py`. It rewrites only the seed-* files, so
inputs that `make fuzz` merged into the corpus stay.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import struct
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "cpp" / "fuzz" / "corpus"
SAMPLES = ROOT / "src" / "airwatch" / "sample_data"
WEATHER = ROOT / "src" / "airwatch" / "sample_weather"
FIXTURES = ROOT / "tests" / "fixtures"
EPOCH = dt.date(1970, 1, 1)


def head(path: Path, lines: int) -> bytes:
    with gzip.open(path, "rb") as f:
        return b"".join(f.readline() for _ in range(lines))


def write(target: str, name: str, data: bytes) -> None:
    folder = (ROOT / "tests" / "fuzz" / "corpus" if target == "payloads" else CORPUS) / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"seed-{name}").write_bytes(data)


def day_number(text: str) -> int:
    fmt = "%m/%d/%Y" if "/" in text else "%Y-%m-%d"
    return (dt.datetime.strptime(text, fmt).date() - EPOCH).days


def csv_seeds() -> None:
    epa = FIXTURES / "epa"
    files = {
        "download-ozone": SAMPLES / "ozone_daily_1990_cook_county_IL.csv.gz",
        "download-pm25": SAMPLES / "pm25_daily_2012_cook_county_IL.csv.gz",
        "download-queens": epa / "adviz_queens_college_ny" / "ozone_daily_2015_2019_queens_college_360810124.csv.gz",
        "airdata-daily": epa / "airdata_daily_pm25_national" / "daily_88502_2019_first_1000_rows.csv.gz",
        "airnowtech-hourly": epa / "airnowtech_hourly_burdens_creek_nc_2019" / "20190901_20190930_PMGasMet.csv.gz",
    }
    for name, path in files.items():
        write("read_csv", name, head(path, 4))
    # A real row under the one-letter column names the harness also requests.
    rows = list(csv.reader(io.StringIO(head(files["airnowtech-hourly"], 3).decode())))
    picked = [(r[10], r[2], r[5], r[13], r[11], r[14]) for r in rows[1:]]
    text = "d,s,i,f,h,c\n" + "".join(",".join(p) + "\r\n" for p in picked)
    write("read_csv", "one-letter-names", text.encode())


def dly_seeds() -> None:
    with gzip.open(WEATHER / "USW00094846.dly.gz", "rt", newline="") as f:
        lines = f.read().splitlines(keepends=True)
    by_element: dict[str, list[str]] = {}
    for line in lines:
        by_element.setdefault(line[17:21], []).append(line)
    for element in ("TMAX", "TMIN", "PRCP", "AWND", "WDF2", "WSF2", "SNOW", "TAVG"):
        # A 31-day month and February, where the format's cells past the month's end are -9999.
        picked = [x for x in by_element[element] if x[15:17] in ("01", "02")][-2:]
        write("ghcn_dly", element.lower(), "".join(picked).encode())
    write("ghcn_dly", "mixed", "".join(by_element[e][-1] for e in ("TMAX", "PRCP", "WT01")).encode())


def daily_rows() -> list[dict[str, str]]:
    rows = []
    for name in ("ozone_daily_1990_cook_county_IL.csv.gz", "pm25_daily_2012_cook_county_IL.csv.gz"):
        with gzip.open(SAMPLES / name, "rt") as f:
            reader = csv.DictReader(f)
            rows += [next(reader) for _ in range(3)]
    return rows


def validate_seeds() -> None:
    units = {"ppm": 1, "ug/m3 LC": 0}
    rows = daily_rows()
    encoded = []
    for r in rows:
        value_column = next(k for k in r if k.startswith("Daily ") and k.endswith("Concentration"))
        fields = (
            int(r["AQS_SITE_ID"]), int(r["AQS_PARAMETER_CODE"]), int(r["POC"]), day_number(r["Date"]), 0,
            units[r["UNITS"]], float(r[value_column]), float(r["PERCENT_COMPLETE"]),
            float(r["SITE_LATITUDE"]), float(r["SITE_LONGITUDE"]), 0,
        )  # fmt: skip
        encoded.append(struct.pack("<qiiiiiddddB", *fields))
    max_day = day_number("2024-12-31")
    write("validate", "daily-rows", struct.pack("<iB", max_day, 1) + b"".join(encoded))
    # The first row again: a duplicate key.
    write("validate", "duplicate", struct.pack("<iB", max_day, 0) + encoded[0] + encoded[1] + encoded[0])


def aqi_seeds() -> None:
    rows = daily_rows()
    ozone = [float(r["Daily Max 8-hour Ozone Concentration"]) for r in rows[:3]]
    pm25 = [float(r["Daily Mean PM2.5 Concentration"]) for r in rows[3:]]
    # Breakpoint ends (EPA's tables), where truncation and rounding decide the index.
    ozone += [0.054, 0.0549, 0.055, 0.070, 0.2, 0.3]
    pm25 += [9.0, 9.05, 9.1, 35.4, 35.45, 325.4, 545.8]
    write("aqi", "ozone", bytes([1]) + struct.pack(f"<{len(ozone)}d", *ozone))
    write("aqi", "pm25", bytes([0]) + struct.pack(f"<{len(pm25)}d", *pm25))


def aggregate_seeds() -> None:
    path = FIXTURES / "epa" / "aqs_api_json" / "bybox" / "aqs" / "sampleData" / "byBox-797bad.json.gz"
    records = json.loads(gzip.decompress(path.read_bytes()))["Data"]
    records.sort(key=lambda r: (r["site_number"], r["date_local"], r["time_local"]))
    out = bytearray([1])  # ozone
    previous = None
    for r in records[:96]:  # two sites, two days each
        site, day = r["site_number"], day_number(r["date_local"])
        if previous is None or site != previous[0]:
            out += struct.pack("<Bi", 254, day)
        elif day != previous[1]:
            out += bytes([day - previous[1]])
        else:
            out += bytes([0])
        value = r["sample_measurement"]
        out += struct.pack("<Bd", int(r["time_local"][:2]), float("nan") if value is None else value)
        previous = (site, day)
    write("aggregate", "ozone-hourly", bytes(out))
    write("aggregate", "pm25-hourly", bytes([0]) + bytes(out[1:]))


def payload_seeds() -> None:
    """One payload per kind and name of tests/fuzz/fuzz_payloads.py's CHOICES (the first byte picks it)."""
    epa = FIXTURES / "epa"
    daily_csv = head(SAMPLES / "ozone_daily_1990_cook_county_IL.csv.gz", 4)
    airdata_csv = head(epa / "airdata_daily_pm25_national" / "daily_88502_2019_first_1000_rows.csv.gz", 4)
    peak = head(epa / "airnow_daily_peak_2018" / "20180722-peak_every_10th_line.dat.gz", 3)
    write("payloads", "download-tool-csv", bytes([0]) + daily_csv)
    write("payloads", "airdata-csv-gz", bytes([1]) + gzip.compress(airdata_csv, mtime=0))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("daily_44201_1990.csv", date_time=(1990, 1, 1, 0, 0, 0)), daily_csv)
    write("payloads", "download-tool-zip", bytes([2]) + buffer.getvalue())
    write("payloads", "airnow-peak", bytes([3]) + peak)
    api = epa / "aqs_api_json" / "bybox" / "aqs"
    for byte, name, kind in ((4, "aqs-daily", "dailyData"), (5, "aqs-sample", "sampleData")):
        response = json.loads(gzip.decompress((api / kind / "byBox-797bad.json.gz").read_bytes()))
        response["Data"] = response["Data"][:2]
        write("payloads", name, bytes([byte]) + json.dumps(response).encode())
    # AirNow /aq/data/ records as the stand-in server makes them from the AirNow-Tech hourly file.
    hourly = epa / "airnowtech_hourly_burdens_creek_nc_2019" / "20190901_20190930_PMGasMet.csv.gz"
    rows = list(csv.DictReader(io.StringIO(head(hourly, 3).decode())))
    records = []
    for r in rows:
        utc = dt.datetime.strptime(f"{r['Date (UTC)']} {r['Time (UTC)']}", "%m/%d/%Y %H:%M")
        records.append(
            {
                "Latitude": 35.88931, "Longitude": -78.87466, "UTC": utc.strftime("%Y-%m-%dT%H:%M"),
                "Parameter": r["Param"], "Unit": r["Unit"], "Value": float(r["Value"]), "SiteName": r["Site"],
                "FullAQSCode": r["Site AQS"], "IntlAQSCode": "840" + r["Site AQS"],
            }
        )  # fmt: skip
    write("payloads", "airnow-data", bytes([6]) + json.dumps(records).encode())


def main() -> None:
    csv_seeds()
    dly_seeds()
    validate_seeds()
    aqi_seeds()
    aggregate_seeds()
    payload_seeds()


if __name__ == "__main__":
    main()
