"""Roster import from an HR export (CSV): plan (preview), then apply.

Contract used by the demo generator and the UI/CLI:

- ``plan_roster(source, effective=..., full=True) -> RosterPlan`` reads and validates, writes nothing;
- ``apply_roster(plan, force=False) -> RosterPlan`` writes the plan (flush only, the caller commits);
  raises ``SafetyStop`` when the plan trips a safety stop and ``force`` is false;
- ``import_roster(source, effective=..., full=True, force=False, dry_run=False) -> RosterPlan``
  does both.
"""
