#!/usr/bin/env python3
"""Compare lifeservice-access with networkx and pandana on the same graph.

For each network (the sample extract and a generated 300 x 300 grid) this
script reads the PBF with pyosmium, applies the same OSMnx `walk` filter and
haversine edge lengths as the Rust crate, places origins and facilities
exactly on network nodes, runs the Rust `access nearest` command on the same
files, and checks that every distance matches networkx's multi-source
Dijkstra (and pandana's nearest_pois, when installed) within 0.5 m. It also
times the peers for BENCHMARKS.md.

Usage (from the workspace root):
    cargo build --release -p lifeservice-access --example access
    pip install -r scripts/access-peers/requirements.txt
    python3 scripts/access-peers/compare.py
"""

import argparse
import csv
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import time

import networkx as nx
import osmium

EARTH_RADIUS_M = 6_371_009.0
EXCLUDED_HIGHWAY = re.compile(
    "abandoned|bus_guideway|construction|cycleway|motor|no|planned|platform|proposed|raceway|razed"
)
TOLERANCE_M = 0.5
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SAMPLE = os.path.join(ROOT, "crates/access/tests/data/sample-walk-network.osm.pbf")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))


def walkable(tags):
    """OSMnx's walk filter: Overpass `!~` is an unanchored regex match."""
    highway = tags.get("highway")
    if highway is None or EXCLUDED_HIGHWAY.search(highway):
        return False
    return not (
        "yes" in tags.get("area", "")
        or "no" in tags.get("foot", "")
        or "private" in tags.get("service", "")
        or "private" in tags.get("access", "")
    )


def haversine(lon1, lat1, lon2, lat2):
    y1, y2 = math.radians(lat1), math.radians(lat2)
    dy = y2 - y1
    dx = math.radians(lon2) - math.radians(lon1)
    h = math.sin(dy / 2) ** 2 + math.cos(y1) * math.cos(y2) * math.sin(dx / 2) ** 2
    return 2 * math.asin(math.sqrt(min(1.0, h))) * EARTH_RADIUS_M


class Reader(osmium.SimpleHandler):
    def __init__(self):
        super().__init__()
        self.coords = {}
        self.ways = []

    def node(self, n):
        # Same arithmetic as the osmpbf crate: nanodegrees times 1e-9.
        self.coords[n.id] = (n.location.x * 100 * 1e-9, n.location.y * 100 * 1e-9)

    def way(self, w):
        if walkable({t.k: t.v for t in w.tags}):
            self.ways.append([n.ref for n in w.nodes])


def read_graph(path):
    reader = Reader()
    reader.apply_file(path)
    graph = nx.Graph()
    for refs in reader.ways:
        for a, b in zip(refs, refs[1:]):
            # A node missing from the extract splits the way.
            if a == b or a not in reader.coords or b not in reader.coords:
                continue
            length = haversine(*reader.coords[a], *reader.coords[b])
            if not graph.has_edge(a, b) or graph[a][b]["length"] > length:
                graph.add_edge(a, b, length=length)
    for node in graph.nodes:
        graph.nodes[node]["x"], graph.nodes[node]["y"] = reader.coords[node]
    return graph


def write_inputs(graph, directory, origins, facilities, categories, seed):
    rng = random.Random(seed)
    nodes = sorted(graph.nodes)
    origin_nodes = rng.sample(nodes, min(origins, len(nodes)))
    facility_nodes = [(rng.choice(nodes), f"c{rng.randrange(categories):02}") for _ in range(facilities)]
    with open(os.path.join(directory, "o.csv"), "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["id", "lon", "lat"])
        for i, n in enumerate(origin_nodes):
            out.writerow([f"o{i}", repr(graph.nodes[n]["x"]), repr(graph.nodes[n]["y"])])
    with open(os.path.join(directory, "f.csv"), "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["id", "category", "lon", "lat"])
        for i, (n, c) in enumerate(facility_nodes):
            out.writerow([f"f{i}", c, repr(graph.nodes[n]["x"]), repr(graph.nodes[n]["y"])])
    return origin_nodes, facility_nodes


def agree(a, b, cutoff):
    """Equal within the tolerance; a distance missing on one side only is
    accepted on the cutoff boundary, where pandana's float32 rounding decides."""
    if a is None and b is None:
        return True
    if a is None or b is None:
        return (a if a is not None else b) >= cutoff - TOLERANCE_M
    return abs(a - b) <= TOLERANCE_M


def run_rust(pbf, directory, cutoff, runs):
    """Runs `access nearest` `runs` times; returns the distances, the median
    wall time and the last run's own report."""
    binary = os.path.join(TARGET, "release/examples/access")
    out = os.path.join(directory, "out.csv")
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(
            [binary, "nearest", "--osm", pbf, "--origins", os.path.join(directory, "o.csv"),
             "--facilities", os.path.join(directory, "f.csv"), "--out", out, "--cutoff-m", str(cutoff)],
            check=True, capture_output=True, text=True,
        )
        times.append(time.perf_counter() - start)
    seconds = sorted(times)[len(times) // 2]
    distances = {}
    with open(out) as f:
        for row in csv.DictReader(f):
            distances[(row["origin_id"], row["category"])] = float(row["distance_m"]) if row["distance_m"] else None
    return distances, seconds, result.stdout.strip()


def run_networkx(graph, facility_nodes, cutoff):
    by_category = {}
    for node, category in facility_nodes:
        by_category.setdefault(category, set()).add(node)
    results = {}
    start = time.perf_counter()
    for category, sources in sorted(by_category.items()):
        results[category] = nx.multi_source_dijkstra_path_length(graph, sources, cutoff=cutoff, weight="length")
    return results, time.perf_counter() - start


def time_networkx_uncut(graph, facility_nodes):
    by_category = {}
    for node, category in facility_nodes:
        by_category.setdefault(category, set()).add(node)
    start = time.perf_counter()
    for sources in by_category.values():
        nx.multi_source_dijkstra_path_length(graph, sources, weight="length")
    return time.perf_counter() - start


def run_pandana(graph, facility_nodes, cutoff, enabled):
    if not enabled:
        return None
    try:
        import pandana
        import pandas as pd
    except ImportError:
        return None
    nodes = sorted(graph.nodes)
    node_frame = pd.DataFrame(
        {"x": [graph.nodes[n]["x"] for n in nodes], "y": [graph.nodes[n]["y"] for n in nodes]}, index=nodes
    )
    edges = list(graph.edges(data="length"))
    edge_frame = pd.DataFrame({"from": [e[0] for e in edges], "to": [e[1] for e in edges], "length": [e[2] for e in edges]})
    start = time.perf_counter()
    net = pandana.Network(node_frame["x"], node_frame["y"], edge_frame["from"], edge_frame["to"],
                          edge_frame[["length"]], twoway=True)
    net.precompute(cutoff)
    build = time.perf_counter() - start
    by_category = {}
    for node, category in facility_nodes:
        by_category.setdefault(category, []).append(node)
    results = {}
    start = time.perf_counter()
    for category, members in sorted(by_category.items()):
        xs = pd.Series([graph.nodes[n]["x"] for n in members])
        ys = pd.Series([graph.nodes[n]["y"] for n in members])
        net.set_pois(category, cutoff, 1, xs, ys)
        results[category] = net.nearest_pois(cutoff, category, num_pois=1, max_distance=-1)[1]
    query = time.perf_counter() - start
    return results, build, query


def compare(name, pbf, directory, origins, facilities, categories, args, uncut):
    cutoff = args.cutoff_m
    print(f"== {name}: {pbf}")
    graph = read_graph(pbf)
    print(f"graph: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges")
    origin_nodes, facility_nodes = write_inputs(graph, directory, origins, facilities, categories, seed=7)
    rust, rust_s, rust_out = run_rust(pbf, directory, cutoff, args.rust_runs)
    print(f"rust access nearest (whole run, PBF read included, median of {args.rust_runs}): "
          f"{rust_s:.3f} s  [{rust_out}]")
    nx_results, nx_s = run_networkx(graph, facility_nodes, cutoff)
    print(f"networkx multi_source_dijkstra, {len(nx_results)} categories, cutoff {cutoff} m: {nx_s:.3f} s")
    if uncut:
        print(f"networkx multi_source_dijkstra without cutoff: {time_networkx_uncut(graph, facility_nodes):.3f} s")
    pandana_out = run_pandana(graph, facility_nodes, cutoff, not args.no_pandana)
    worst, checked = 0.0, 0
    for i, node in enumerate(origin_nodes):
        for category in sorted(nx_results):
            expected = nx_results[category].get(node)
            got = rust[(f"o{i}", category)]
            checked += 1
            if not agree(got, expected, cutoff):
                sys.exit(f"MISMATCH o{i} {category}: rust {got} networkx {expected}")
            if expected is not None and got is not None:
                worst = max(worst, abs(got - expected))
            if pandana_out is not None:
                value = float(pandana_out[0][category].loc[node])
                panda = None if value < 0 else value
                if not agree(panda, expected, cutoff):
                    sys.exit(f"MISMATCH o{i} {category}: pandana {panda} networkx {expected}")
    print(f"checked {checked} origin/category pairs: worst |rust - networkx| = {worst:.6f} m")
    if pandana_out is not None:
        _, build, query = pandana_out
        print(f"pandana: precompute (CH build) {build:.3f} s, nearest_pois for all categories {query:.3f} s")
    else:
        print("pandana: not installed or --no-pandana, skipped")
    print(f"speed-up: {nx_s / rust_s:.1f}x over networkx" +
          (f", {pandana_out[2] / rust_s:.1f}x over pandana's query" if pandana_out else ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grid", type=int, default=300, help="side of the generated grid (default 300)")
    parser.add_argument("--cutoff-m", type=float, default=1000.0)
    parser.add_argument("--rust-runs", type=int, default=1, help="runs of the Rust command; the median is reported")
    parser.add_argument("--no-pandana", action="store_true", help="skip pandana (its CH build takes minutes)")
    parser.add_argument("--grid-only", action="store_true", help="skip the sample extract")
    parser.add_argument("--keep", metavar="DIR",
                        help="write the grid's PBF and CSVs to DIR and keep them, to time the Rust command again")
    args = parser.parse_args()
    if not args.grid_only:
        with tempfile.TemporaryDirectory() as directory:
            compare("sample extract", SAMPLE, directory, 200, 150, 5, args, uncut=False)
    with tempfile.TemporaryDirectory() as scratch:
        directory = args.keep or scratch
        os.makedirs(directory, exist_ok=True)
        binary = os.path.join(TARGET, "release/examples/access")
        subprocess.run([binary, "gen", "--rows", str(args.grid), "--cols", str(args.grid), "--origins", "1",
                        "--facilities", "1", "--categories", "1", "--dir", directory], check=True, capture_output=True)
        compare(f"jittered {args.grid}x{args.grid} grid", os.path.join(directory, "net.osm.pbf"), directory,
                10_000, 5_000, 26, args, uncut=True)


if __name__ == "__main__":
    main()
