-- Seed data (fixed UUIDs so examples and tests can name them). Idempotent.
-- Acme: alice (admin), bob (member). Globex: dave (admin). carol is in no team.
INSERT INTO users (id, email) VALUES
  ('a11ce000-0000-4000-8000-000000000001', 'alice@example.com'),
  ('b0b00000-0000-4000-8000-000000000002', 'bob@example.com'),
  ('ca201000-0000-4000-8000-000000000003', 'carol@example.com'),
  ('da7e0000-0000-4000-8000-000000000004', 'dave@example.com')
ON CONFLICT DO NOTHING;
INSERT INTO teams (id, name) VALUES
  ('7ea70000-0000-4000-8000-00000000ac3e', 'Acme'),
  ('7ea70000-0000-4000-8000-0000000910be', 'Globex')
ON CONFLICT DO NOTHING;
INSERT INTO team_members (team_id, user_id, role) VALUES
  ('7ea70000-0000-4000-8000-00000000ac3e', 'a11ce000-0000-4000-8000-000000000001', 'admin'),
  ('7ea70000-0000-4000-8000-00000000ac3e', 'b0b00000-0000-4000-8000-000000000002', 'member'),
  ('7ea70000-0000-4000-8000-0000000910be', 'da7e0000-0000-4000-8000-000000000004', 'admin')
ON CONFLICT DO NOTHING;
INSERT INTO projects (id, team_id, name, is_public) VALUES
  ('9e0f0000-0000-4000-8000-000000000001', '7ea70000-0000-4000-8000-00000000ac3e', 'Acme website', true),
  ('9e0f0000-0000-4000-8000-000000000002', '7ea70000-0000-4000-8000-00000000ac3e', 'Acme roadmap', false),
  ('9e0f0000-0000-4000-8000-000000000003', '7ea70000-0000-4000-8000-0000000910be', 'Globex secrets', false)
ON CONFLICT DO NOTHING;
