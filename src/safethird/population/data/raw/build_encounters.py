"""Build ../sw_border_encounters_monthly.csv and ../sw_border_encounters_margins.csv from the
transcribed extracts in this folder, and check them against each other and the annual anchors.
Run: python build_encounters.py   (stdlib only; prints a validation report, exits 1 on a failed check)"""
import csv
import sys
from pathlib import Path

HERE = Path(__file__).parent
MON = {m: i for i, m in enumerate(["OCT", "NOV", "DEC", "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP"])}
SRC_DASH = ("CBP Southwest Land Border Encounters dashboard (Tableau), scrape Nov 2021: "
            "emersoncollective/data-repo-mvp@4ec2d82cfc3c8b3fdf245e3e82bb315064c8e18f "
            "data/extracted_data/cbp-tableau/cbp-encounters.csv (title_of_authority=all)")
SRC_SECT = ("CBP U.S. Border Patrol Monthly Encounters FY2000-FY2020 (sector tables): "
            "UWCHR/cbp@796b2a195788a2353b368d52a8d9a4a86fb4a0f9 import/frozen/usbp_monthly_encounters_fy{fy}.csv")
SRC_GRP = ("CBP USBP Southwest Border Apprehensions by Sector FY{fy} (monthly FMUA/UAC/SA tables), scraped by "
           "wpinvestigative/unaccompanied_minors@92e4909a986317f365d9453dc447741b9cceae20 "
           "output_data/secmondf_20210303.csv (month labels re-assigned by matching totals)")

def ym(fy, mon):
    i = MON[mon]
    y = fy - 1 if i < 3 else fy
    return f"{y}-{(i + 10 - 1) % 12 + 1:02d}"

def months(fy):
    return [ym(fy, m) for m in MON]

# --- dashboard extract -------------------------------------------------------
dash = {}  # (cit, comp, dem, month) -> count
for line in (HERE / "cbp_sw_dashboard_extract.txt").read_text().splitlines():
    if not line or line.startswith("#"):
        continue
    cit, comp, dem, fy, vals = line.split("|")
    fy = int(fy)
    keyset = set()
    for tok in vals.split():
        mon, v = tok.split("=")
        dash[(cit, comp, dem, ym(fy, mon))] = int(v)
        keyset.add(mon)
    for mon in MON:  # months the source omits: no encounters shown
        dash.setdefault((cit, comp, dem, ym(fy, mon)), 0)

# --- USBP sector totals ------------------------------------------------------
sector = {}
for line in (HERE / "usbp_sector_monthly_transcribed.txt").read_text().splitlines():
    if not line or line.startswith("#"):
        continue
    fy, name, vals = line.split("|")
    fy = int(fy[2:])
    for m, v in zip(months(fy), vals.split()):
        sector[(name, m)] = int(v)

grp = {}
for line in (HERE / "usbp_group_monthly_transcribed.txt").read_text().splitlines():
    if not line or line.startswith("#"):
        continue
    m, sec, f, u, s = line.split("|")
    grp[(sec, m)] = (int(f), int(u), int(s))

def fy_of(m):
    y, mo = map(int, m.split("-"))
    return y + 1 if mo >= 10 else y

ok = True
def check(label, got, want):
    global ok
    flag = "OK " if got == want else "MISMATCH"
    if got != want:
        ok_local = False
    print(f"  [{flag}] {label}: got {got:,} expected {want:,}" + ("" if got == want else f" (diff {got - want:+,})"))
    return got == want

ALLM = months(2019) + months(2020)
report_fail = []

print("1. Internal consistency of the dashboard extract (demographics sum to component total):")
for cit in ("SV", "HN"):
    for comp in ("OFO", "USBP"):
        for fy in (2019, 2020):
            s = sum(dash.get((cit, comp, d, m), 0) for d in ("AM", "FMUA", "SA", "UC") for m in months(fy))
            t = sum(dash[(cit, comp, "ALL", m)] for m in months(fy))
            if not check(f"{cit} {comp} FY{fy} sum of groups vs component total", s, t):
                report_fail.append((cit, comp, fy))
        # month by month
        for m in ALLM:
            s = sum(dash.get((cit, comp, d, m), 0) for d in ("AM", "FMUA", "SA", "UC"))
            if s != dash[(cit, comp, "ALL", m)]:
                print(f"  [MISMATCH] {cit} {comp} {m}: groups {s} vs total {dash[(cit, comp, 'ALL', m)]}")
                report_fail.append((cit, comp, m))
    for m in ALLM:
        s = dash[(cit, "OFO", "ALL", m)] + dash[(cit, "USBP", "ALL", m)]
        if (cit, "ALL", "ALL", m) in dash and s != dash[(cit, "ALL", "ALL", m)]:
            print(f"  [MISMATCH] {cit} {m}: OFO+USBP {s} vs all {dash[(cit, 'ALL', 'ALL', m)]}")
            report_fail.append((cit, m))
for m in ALLM:
    s = dash[("GT", "OFO", "ALL", m)] + dash[("GT", "USBP", "ALL", m)]
    if s != dash[("GT", "ALL", "ALL", m)]:
        print(f"  [MISMATCH] GT {m}: OFO+USBP {s} vs all {dash[('GT', 'ALL', 'ALL', m)]}")
        report_fail.append(("GT", m))
print("  month-by-month checks done; failures:", len(report_fail))

print("2. Annual anchors:")
usbp19 = sum(sector[("Southwest Border", m)] for m in months(2019))
usbp20 = sum(sector[("Southwest Border", m)] for m in months(2020))
tot19 = sum(dash[("ALL", "ALL", "ALL", m)] for m in months(2019))
tot20 = sum(dash[("ALL", "ALL", "ALL", m)] for m in months(2020))
check("FY2019 USBP SW total (sector tables)", usbp19, 851508)
check("FY2020 USBP SW total (sector tables)", usbp20, 400651)
check("FY2019 SW total encounters (dashboard)", tot19, 977509)
check("FY2020 SW total encounters (dashboard)", tot20, 458088)
check("FY2019 OFO = dashboard total - USBP", tot19 - usbp19, 126001)
check("FY2020 OFO = dashboard total - USBP", tot20 - usbp20, 57437)
g19 = [sum(grp[("SW", m)][i] for m in months(2019)) for i in range(3)]
g20 = [sum(grp[("SW", m)][i] for m in months(2020)) for i in range(3)]
check("FY2019 USBP family-unit members", g19[0], 473682)
check("FY2019 USBP unaccompanied children", g19[1], 76020)
check("FY2019 USBP single adults", g19[2], 301806)
print(f"  (FY2020 USBP by group from the same tables: FMUA {g20[0]:,}, UAC {g20[1]:,}, SA {g20[2]:,}; sum {sum(g20):,})")
for m in ALLM:
    if sum(grp[("SW", m)]) != sector[("Southwest Border", m)]:
        print(f"  [MISMATCH] USBP {m}: group sum {sum(grp[('SW', m)])} vs sector-table total {sector[('Southwest Border', m)]}")
for sec_name in ("El Paso", "Rio Grande Valley"):
    for m in ALLM:
        if sum(grp[(sec_name, m)]) != sector[(sec_name, m)]:
            print(f"  [NOTE] {sec_name} {m}: group tables sum {sum(grp[(sec_name, m)])} vs sector table {sector[(sec_name, m)]}")
print("  USBP dashboard (SV, HN, GT) vs nothing else to compare; citizenship FY totals (all components):")
for cit in ("SV", "GT", "HN", "MX"):
    print(f"   {cit}: FY2019 {sum(dash[(cit, 'ALL', 'ALL', m)] for m in months(2019)) if (cit,'ALL','ALL',months(2019)[0]) in dash else sum(dash[(cit,c,'ALL',m)] for c in ('OFO','USBP') for m in months(2019)):,}"
          f"  FY2020 {sum(dash[(cit, 'ALL', 'ALL', m)] for m in months(2020)) if (cit,'ALL','ALL',months(2020)[0]) in dash else sum(dash[(cit,c,'ALL',m)] for c in ('OFO','USBP') for m in months(2020)):,}")
for cit in ("SV", "HN", "GT"):
    print(f"   {cit} USBP FY2019 {sum(dash[(cit,'USBP','ALL',m)] for m in months(2019)):,}; OFO FY2019 {sum(dash[(cit,'OFO','ALL',m)] for m in months(2019)):,}")

# --- write main cross-tab (SV, HN only) ---------------------------------------
GROUP = {"FMUA": "family_unit", "SA": "single_adult", "UC": "unaccompanied_child"}
rows = []
for cit in ("HN", "SV"):
    for comp in ("USBP", "OFO"):
        for m in ALLM:
            for dem, g in GROUP.items():
                v = dash.get((cit, comp, dem, m), 0)
                src = SRC_DASH
                if g == "family_unit" and comp == "OFO":
                    am = dash.get((cit, comp, "AM", m), 0)
                    v += am
                    src = f"derived: FMUA ({v - am}) + Accompanied Minors ({am}) from " + SRC_DASH
                rows.append([m, cit, g, comp.lower(), v, src])
rows.sort(key=lambda r: (r[0], r[1], r[3], r[2]))
with open(HERE.parent / "sw_border_encounters_monthly.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["month", "citizenship", "group", "component", "encounters", "source"])
    w.writerows(rows)

# --- margins -----------------------------------------------------------------
mrows = []
def add(m, dim, val, comp, v, src):
    mrows.append([m, dim, val, comp, v, src])
for m in ALLM:
    fy = fy_of(m)
    add(m, "total", "all", "all", dash[("ALL", "ALL", "ALL", m)], SRC_DASH)
    add(m, "total", "all", "usbp", sector[("Southwest Border", m)], SRC_SECT.format(fy=fy))
    add(m, "total", "all", "ofo", dash[("ALL", "ALL", "ALL", m)] - sector[("Southwest Border", m)],
        "derived: dashboard all-component total minus USBP sector-table total")
    f_, u_, s_ = grp[("SW", m)]
    add(m, "group", "family_unit", "usbp", f_, SRC_GRP.format(fy=fy))
    add(m, "group", "unaccompanied_child", "usbp", u_, SRC_GRP.format(fy=fy))
    add(m, "group", "single_adult", "usbp", s_, SRC_GRP.format(fy=fy))
    add(m, "group", "family_unit", "all", dash[("ALL", "ALL", "FMUA", m)] + dash[("ALL", "ALL", "AM", m)],
        f"derived: FMUA ({dash[('ALL','ALL','FMUA',m)]}) + Accompanied Minors ({dash[('ALL','ALL','AM',m)]}) from " + SRC_DASH)
    add(m, "group", "family_unit", "ofo", dash[("ALL", "ALL", "FMUA", m)] + dash[("ALL", "ALL", "AM", m)] - f_,
        "derived: dashboard all-component family_unit (FMUA+Accompanied Minors) minus USBP FMUA (WaPo scrape of CBP tables)")
    for cit in ("HN", "SV", "GT"):
        for comp in ("USBP", "OFO"):
            add(m, "citizenship", cit, comp.lower(), dash[(cit, comp, "ALL", m)], SRC_DASH)
    add(m, "citizenship", "GT", "all", dash[("GT", "ALL", "ALL", m)], SRC_DASH)
    add(m, "citizenship", "GT_family_unit", "usbp", dash[("GT", "USBP", "FMUA", m)], SRC_DASH)
    add(m, "citizenship", "MX", "all", dash[("MX", "ALL", "ALL", m)], SRC_DASH)
    other = dash[("ALL", "ALL", "ALL", m)] - sum(dash[(c, "ALL", "ALL", m)] if (c, "ALL", "ALL", m) in dash else
                                                 dash[(c, "OFO", "ALL", m)] + dash[(c, "USBP", "ALL", m)]
                                                 for c in ("SV", "GT", "HN", "MX"))
    add(m, "citizenship", "OTHER", "all", other,
        "derived: dashboard total minus SV, GT, HN, MX totals (the dashboard's 'Other' citizenship grouping; its own rows were not transcribed)")
    for sec_name in ("Big Bend", "Del Rio", "El Centro", "El Paso", "Laredo", "Rio Grande Valley", "San Diego", "Tucson", "Yuma"):
        add(m, "sector", sec_name, "usbp", sector[(sec_name, m)], SRC_SECT.format(fy=fy))
    for sec_name in ("El Paso", "Rio Grande Valley"):
        f_, u_, s_ = grp[(sec_name, m)]
        for g, v in (("family_unit", f_), ("unaccompanied_child", u_), ("single_adult", s_)):
            add(m, "sector_group", f"{sec_name}:{g}", "usbp", v, SRC_GRP.format(fy=fy))
with open(HERE.parent / "sw_border_encounters_margins.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["month", "dimension", "value", "component", "encounters", "source"])
    w.writerows(mrows)
print(f"wrote {len(rows)} cross-tab rows and {len(mrows)} margin rows")
sys.exit(1 if report_fail else 0)
