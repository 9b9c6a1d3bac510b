-- Each configured feed's last poll (src/articles/feed-poller.ts).

-- name: save
INSERT INTO feeds (url, last_poll_at, last_error, last_report) VALUES ($1, $2, $3, $4)
ON CONFLICT (url) DO UPDATE SET last_poll_at = EXCLUDED.last_poll_at, last_error = EXCLUDED.last_error, last_report = EXCLUDED.last_report

-- name: statuses
SELECT url, last_poll_at, last_error, last_report FROM feeds WHERE url = ANY($1::text[])
