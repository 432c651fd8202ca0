-- Reserved: another branch's migration takes this number (the lead renumbers at merge).
-- This placeholder only lets migration 0014 apply on the term branch alone; drop it at merge.
SELECT 1;
