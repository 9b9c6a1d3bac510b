-- Console logins kept in PostgreSQL (src/admin/admin-users.ts).

-- name: set
INSERT INTO admin_users (name, salt, hash) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE SET salt = EXCLUDED.salt, hash = EXCLUDED.hash, updated_at = now()

-- name: get
SELECT salt, hash FROM admin_users WHERE name = $1
