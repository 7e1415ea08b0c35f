-- The create-chirp service draws chirp ids itself (nextval), to store a
-- batch in one statement and to reserve the ids of a batch before writing
-- it: its role needs the identity sequence as well as the table.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'chirper_create_chirp') THEN
        EXECUTE format('GRANT USAGE ON SEQUENCE %s TO chirper_create_chirp', pg_get_serial_sequence('chirps', 'id'));
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'chirper_create_chirp') THEN
        EXECUTE format('REVOKE USAGE ON SEQUENCE %s FROM chirper_create_chirp', pg_get_serial_sequence('chirps', 'id'));
    END IF;
END
$$;
-- +goose StatementEnd
