-- One login role per service, each with only the privileges its endpoint
-- group needs. In AWS the services sign in as these roles through RDS Proxy
-- with IAM tokens (rds_iam); no role has a password. Roles belong to the
-- whole cluster, so they are created once and granted in each database.
-- Skipped, with a notice, when the migrating user may not create roles.

-- +goose Up
-- +goose StatementBegin
DO $$
DECLARE
    svc text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolsuper OR rolcreaterole)) THEN
        RAISE NOTICE 'chirper: % may not create roles; the service roles are not made', current_user;
        RETURN;
    END IF;
    FOREACH svc IN ARRAY ARRAY['chirper_users', 'chirper_list_chirps', 'chirper_get_chirp', 'chirper_create_chirp'] LOOP
        BEGIN
            EXECUTE format('CREATE ROLE %I LOGIN', svc);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- made by an earlier migration of another database
        END;
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam') THEN
            EXECUTE format('GRANT rds_iam TO %I', svc);
        END IF;
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), svc);
        EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', svc);
        -- Every service resolves access tokens to their (existing) user.
        EXECUTE format('GRANT SELECT ON users, goose_db_version TO %I', svc);
    END LOOP;

    GRANT INSERT, UPDATE, DELETE ON users TO chirper_users;
    GRANT SELECT, INSERT, UPDATE ON refresh_tokens TO chirper_users;
    GRANT SELECT ON chirps, chirp_tags TO chirper_list_chirps, chirper_get_chirp;
    GRANT SELECT, INSERT, DELETE ON chirps, chirp_tags TO chirper_create_chirp;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
DECLARE
    svc text;
BEGIN
    FOREACH svc IN ARRAY ARRAY['chirper_users', 'chirper_list_chirps', 'chirper_get_chirp', 'chirper_create_chirp'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = svc) THEN
            EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %I', svc);
            EXECUTE format('REVOKE ALL ON SCHEMA public FROM %I', svc);
            EXECUTE format('REVOKE ALL ON DATABASE %I FROM %I', current_database(), svc);
        END IF;
    END LOOP;
END
$$;
-- +goose StatementEnd
