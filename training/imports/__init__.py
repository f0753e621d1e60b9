"""Org-chart and roster imports from CSV: check the whole file, then write all of it or nothing.

`parse_*` reads a file and returns a plan: what would change, and every problem
with its line number (the header is line 1); `plan.ok` is true when there is
none. `apply_*` writes a plan that has no problems with bulk statements and
records one audit event; it refuses one with problems (ImportRefused). Nothing
here commits: the caller's unit of work does. Apply a plan right away, in the
session that made it.

`progress`, where accepted, is called now and then with the number of rows
handled so far.
"""
from training.imports.csvfile import ImportRefused, Problem
from training.imports.org import OrgPlan, OrgResult, apply_org_plan, check_org_plan, parse_org_csv
from training.imports.roster import RosterPlan, parse_roster_csv
from training.imports.roster_write import apply_roster_plan

__all__ = ["ImportRefused", "OrgPlan", "OrgResult", "Problem", "RosterPlan", "apply_org_plan", "apply_roster_plan",
           "check_org_plan", "parse_org_csv", "parse_roster_csv"]
