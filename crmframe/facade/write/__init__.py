"""The write path: a DataFrame's edits back to Zoho, in one direction.

1. :mod:`~crmframe.facade.write.prepare` — module and field metadata, the baseline (given,
   or read back), :func:`~crmframe.core.diff.diff`, validation; helpers in
   :mod:`~crmframe.facade.write.frames` and :mod:`~crmframe.facade.write.readback`.
2. :mod:`~crmframe.facade.write.conflicts` — the one place where conflicts (records changed
   in Zoho since the baseline was read) are decided.
3. :func:`~crmframe.core.plan.make_plan` — the plan, pure, in ``core``.
4. Sending: :mod:`~crmframe.facade.write.steps` (a plan as calls),
   :mod:`~crmframe.facade.write.execute` (the executor), :mod:`~crmframe.facade.write.journal`
   (resumable pushes), :mod:`~crmframe.facade.write.sender` (HTTP),
   :mod:`~crmframe.facade.write.settle` (writes whose answer was lost: read back, never
   re-sent blindly), :mod:`~crmframe.facade.write.run` (a prepared push run end to end).
5. Result: :mod:`~crmframe.facade.write.rows` (outcomes as rows),
   :mod:`~crmframe.facade.write.result` (:class:`PushResult`),
   :mod:`~crmframe.facade.write.retry` (what ``retry()`` sends again).

:mod:`~crmframe.facade.write.mixin` holds :class:`WritingMixin` (``crm.plan``, ``crm.push``,
``crm.mass_update``, ``crm.bulk_write``), which composes these;
:mod:`~crmframe.facade.write.massupdate` and :mod:`~crmframe.facade.write.bulkwriting` hold
the direct mass-update and bulk-write verbs; :mod:`~crmframe.facade.write.bulkrows` the bulk
writes by row position (insert, upsert); :mod:`~crmframe.facade.write.creating` ``crm.insert``,
``crm.upsert`` and ``crm.delete``.
"""
