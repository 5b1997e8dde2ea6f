/** The fixed ids of `seed.sql`. */
export const SEED = {
  users: {
    alice: 'a11ce000-0000-4000-8000-000000000001',
    bob: 'b0b00000-0000-4000-8000-000000000002',
    carol: 'ca201000-0000-4000-8000-000000000003',
    dave: 'da7e0000-0000-4000-8000-000000000004',
  },
  teams: {
    acme: '7ea70000-0000-4000-8000-00000000ac3e',
    globex: '7ea70000-0000-4000-8000-0000000910be',
  },
  projects: {
    acmeWebsite: '9e0f0000-0000-4000-8000-000000000001', // public
    acmeRoadmap: '9e0f0000-0000-4000-8000-000000000002', // private (Acme)
    globexSecrets: '9e0f0000-0000-4000-8000-000000000003', // private (Globex)
  },
} as const;
