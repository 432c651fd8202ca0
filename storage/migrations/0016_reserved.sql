-- Reserved: another branch's migration takes this number (the lead renumbers at merge).
-- This placeholder only lets migration 0017 apply on the service branch alone; drop it at merge.
SELECT 1;
