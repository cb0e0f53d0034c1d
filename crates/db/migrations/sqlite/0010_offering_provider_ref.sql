-- Offerings synced from a provider's own catalogue (a Nova flavour, an EC2
-- instance type) remember the provider's id for them, so a flavour renamed
-- at the provider updates the offering instead of adding a second one, and
-- one deleted there is noticed and withdrawn. Hand-entered offerings have
-- none.
ALTER TABLE offerings ADD COLUMN provider_ref TEXT;
CREATE UNIQUE INDEX offerings_provider_ref ON offerings (provider_id, site_id, provider_ref)
    WHERE provider_ref IS NOT NULL;
