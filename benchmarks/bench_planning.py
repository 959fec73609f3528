"""Benchmark: plan 10,000 courses and print plans per second.

Run:  .venv/bin/python benchmarks/bench_planning.py [--courses N] [--seed S]

Courses are synthetic: a route, a start date within 2026-2027, a clinic calendar
(US, GB, CA or AU with a region, Monday-Friday, 0-2 random closures) and a patient
weight and age. With --mixed, a third of the clinics open Tuesday/Thursday,
Monday/Wednesday/Friday or Monday-Saturday instead, and half the courses get a
therapist's calendar for video integration (more plans name a deviation or fail). Every
plan is checked by the planner's own final guard (check_plan), so the figure
includes validation, the rhythm rule and the naming of deviations. Plans that cannot be made (a
PlanningError naming the constraint) are counted separately and included in the
timing. Public-holiday tables are warmed up first, as they are in a running
dashboard (the holidays library builds each country-year once per process).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import random
import time

from kaptools.errors import PlanningError
from kaptools.protocol import default_protocol
from kaptools.scheduling import ClinicCalendar, Route, plan_course

REGIONS = [("US", "CA"), ("US", "NY"), ("GB", "ENG"), ("CA", "ON"), ("AU", "NSW")]


MON_FRI = (0, 1, 2, 3, 4)
MIXED_WEEKDAYS = [MON_FRI] * 6 + [(1, 3), (0, 2, 4), (0, 1, 2, 3, 4, 5)]

Case = tuple[Route, dt.date, ClinicCalendar, ClinicCalendar | None, float, int]


def _cases(n: int, seed: int, *, mixed: bool = False) -> list[Case]:
    rng = random.Random(seed)
    weekdays = MIXED_WEEKDAYS if mixed else [MON_FRI]
    calendars = []
    therapists: list[ClinicCalendar | None] = [None]
    for country, sub in REGIONS:
        therapists.append(ClinicCalendar(country=country, subdivision=sub))
        for _ in range(20):
            closures = []
            for _ in range(rng.randint(0, 2)):
                start = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 700))
                closures.append((start, start + dt.timedelta(days=rng.randint(0, 4))))
            calendars.append(
                ClinicCalendar(
                    rng.choice(weekdays), country=country, subdivision=sub, closures=closures
                )
            )
    return [
        (
            rng.choice(list(Route)),
            dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 700)),
            rng.choice(calendars),
            rng.choice(therapists) if mixed and rng.random() < 0.5 else None,
            round(rng.uniform(45, 140), 1),
            rng.randint(18, 90),
        )
        for _ in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--courses", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--mixed", action="store_true", help="other weekdays, therapists")
    args = parser.parse_args()
    cases = _cases(args.courses, args.seed, mixed=args.mixed)
    for country, sub in REGIONS:  # warm the holiday tables
        cal = ClinicCalendar(country=country, subdivision=sub)
        for year in range(2026, 2030):
            cal.is_open(dt.date(year, 6, 1))
    # Warm the one-time loads (the protocol file and the ICD-10-CM tables its screening
    # rules are validated against): this measures planning, not start-up.
    load_started = time.perf_counter()
    default_protocol()
    route, start, calendar, _, _, _ = cases[0]
    plan_course(route, start, calendar=calendar, screening_status="eligible", weight_kg=70, age=40)
    started = time.perf_counter() - load_started
    print(f"start-up (protocol, code tables, first plan): {started:.2f} s")
    outcomes: collections.Counter[str] = collections.Counter()
    sessions = 0
    t0, c0 = time.perf_counter(), time.process_time()
    for route, start, calendar, therapist, weight, age in cases:
        try:
            plan = plan_course(
                route,
                start,
                calendar=calendar,
                therapist_calendar=therapist,
                screening_status="eligible",
                weight_kg=weight,
                age=age,
            )
        except PlanningError as exc:
            outcomes[f"PlanningError ({exc.constraint})"] += 1
        else:
            outcomes["planned with a named deviation" if plan.deviations else "planned"] += 1
            sessions += len(plan.sessions)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"{len(cases)} courses in {elapsed:.2f} s: {len(cases) / elapsed:,.0f} plans per second")
    print(f"  CPU time of this process: {cpu:.2f} s ({len(cases) / cpu:,.0f} plans per CPU-second)")
    print(f"  {sessions:,} sessions planned; outcomes: {dict(outcomes)}")
    _doses_scaling()


def _doses_scaling() -> None:
    """CPU time per dose of one long plan (issue 13: linear in the number of doses), up
    to the protocol's limit on doses per plan: esketamine with N weekly continuation
    doses after induction and maintenance, planned and checked."""
    protocol = default_protocol()
    limit = protocol.courses.plan_doses_max
    most = int(limit.value) if limit is not None else 10_000
    others = sum(int(p.doses.value) for p in protocol.courses.route("esketamine_nasal").phases)
    calendar = ClinicCalendar(country="US", subdivision="CA")
    print("  one long plan (esketamine, weekly continuation), CPU time per dose:")
    for extra in sorted({100, 1_000, 10_000, most - others}):
        c0 = time.process_time()
        plan = plan_course(
            "esketamine_nasal",
            dt.date(2026, 3, 2),
            calendar=calendar,
            screening_status="eligible",
            age=40,
            phase_doses={"continuation": extra},
        )
        cpu = time.process_time() - c0
        n = len(plan.doses)
        print(f"    {n:>6,} doses: {cpu:6.3f} s, {cpu / n * 1e6:6.1f} µs per dose")


if __name__ == "__main__":
    main()
