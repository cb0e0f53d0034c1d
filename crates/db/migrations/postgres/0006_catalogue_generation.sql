-- A generation number for everything placement reads (providers, sites,
-- certifications, offerings, price lists), bumped by triggers so no write
-- path can forget it. The app keeps an in-memory catalogue snapshot and
-- rebuilds it only when the generation moved, which keeps a placement
-- decision to a few milliseconds with tens of thousands of offerings and
-- stays correct with several servers on one database.
-- Mirrored in sqlite/0006_catalogue_generation.sql.

CREATE TABLE catalogue_generation (
    id BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO catalogue_generation (id, generation) VALUES (1, 1);

CREATE FUNCTION bump_catalogue_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE catalogue_generation SET generation = generation + 1 WHERE id = 1;
    RETURN NULL;
END $$;

CREATE TRIGGER providers_bumps_catalogue AFTER INSERT OR UPDATE OR DELETE ON providers
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalogue_generation();

CREATE TRIGGER sites_bumps_catalogue AFTER INSERT OR UPDATE OR DELETE ON sites
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalogue_generation();

CREATE TRIGGER certifications_bumps_catalogue AFTER INSERT OR UPDATE OR DELETE ON certifications
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalogue_generation();

CREATE TRIGGER offerings_bumps_catalogue AFTER INSERT OR UPDATE OR DELETE ON offerings
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalogue_generation();

CREATE TRIGGER price_lists_bumps_catalogue AFTER INSERT OR UPDATE OR DELETE ON price_lists
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalogue_generation();

CREATE TRIGGER price_items_bumps_catalogue AFTER INSERT OR UPDATE OR DELETE ON price_items
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalogue_generation();
