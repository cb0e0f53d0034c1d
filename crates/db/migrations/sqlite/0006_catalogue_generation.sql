-- A generation number for everything placement reads (providers, sites,
-- certifications, offerings, price lists), bumped by triggers so no write
-- path can forget it. The app keeps an in-memory catalogue snapshot and
-- rebuilds it only when the generation moved, which keeps a placement
-- decision to a few milliseconds with tens of thousands of offerings and
-- stays correct with several servers on one database.
-- Mirrored in postgres/0006_catalogue_generation.sql.

CREATE TABLE catalogue_generation (
    id BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO catalogue_generation (id, generation) VALUES (1, 1);

CREATE TRIGGER providers_insert_bumps_catalogue AFTER INSERT ON providers
BEGIN
    UPDATE catalogue_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER providers_update_bumps_catalogue AFTER UPDATE ON providers
BEGIN
    UPDATE catalogue_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER providers_delete_bumps_catalogue AFTER DELETE ON providers
BEGIN
    UPDATE catalogue_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER sites_insert_bumps_catalogue AFTER INSERT ON sites
BEGIN
    UPDATE catalogue_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER sites_update_bumps_catalogue AFTER UPDATE ON sites
BEGIN
    UPDATE catalogue_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER sites_delete_bumps_catalogue AFTER DELETE ON sites
BEGIN
    UPDATE catalogue_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER certifications_insert_bumps_catalogue AFTER INSERT ON certifications
BEGIN
    UPDATE catalogue_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER certifications_update_bumps_catalogue AFTER UPDATE ON certifications
BEGIN
    UPDATE catalogue_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER certifications_delete_bumps_catalogue AFTER DELETE ON certifications
BEGIN
    UPDATE catalogue_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER offerings_insert_bumps_catalogue AFTER INSERT ON offerings
BEGIN
    UPDATE catalogue_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER offerings_update_bumps_catalogue AFTER UPDATE ON offerings
BEGIN
    UPDATE catalogue_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER offerings_delete_bumps_catalogue AFTER DELETE ON offerings
BEGIN
    UPDATE catalogue_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER price_lists_insert_bumps_catalogue AFTER INSERT ON price_lists
BEGIN
    UPDATE catalogue_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER price_lists_update_bumps_catalogue AFTER UPDATE ON price_lists
BEGIN
    UPDATE catalogue_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER price_lists_delete_bumps_catalogue AFTER DELETE ON price_lists
BEGIN
    UPDATE catalogue_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER price_items_insert_bumps_catalogue AFTER INSERT ON price_items
BEGIN
    UPDATE catalogue_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER price_items_update_bumps_catalogue AFTER UPDATE ON price_items
BEGIN
    UPDATE catalogue_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER price_items_delete_bumps_catalogue AFTER DELETE ON price_items
BEGIN
    UPDATE catalogue_generation SET generation = generation + 1 WHERE id = 1;
END;
