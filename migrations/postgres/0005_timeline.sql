-- The timeline interleaves monitor state changes with executions, newest
-- first. A team's state changes are read through their monitors, ordered by
-- (changed_at, id): the first index serves the whole team's stream, the
-- second a single monitor's (and replaces the index without id, so a page
-- boundary inside one millisecond is still an index range).
--
-- Numbered 0005 although 0006 was released first: sqlx applies every
-- migration missing from _sqlx_migrations, whatever its number, so existing
-- databases get it on their next start.

CREATE INDEX monitor_state_changes_changed_at ON monitor_state_changes (changed_at, id);
CREATE INDEX monitor_state_changes_monitor_changed_at_id ON monitor_state_changes (monitor_id, changed_at, id);
DROP INDEX monitor_state_changes_monitor_changed_at;

-- The overview's latest executions per app and the per-app dyno chart read
-- a team's executions of one app and kind; the app index alone would scan
-- every execution of the app to find the scaling ones.
CREATE INDEX executions_team_app_kind_started_at ON executions (team_id, app_name, kind, started_at, id);
