import { describe, expect, it } from 'vitest';
import { hashViewerPassword, verifyViewerPassword } from './viewer-password.ts';

const salt = Buffer.alloc(16, 7);

describe('viewer passwords', () => {
  it('verifies the password a hash was made from, and nothing else', async () => {
    const hash = await hashViewerPassword('correct horse', salt);
    expect(hash).toMatch(/^scrypt\$14\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]{43}$/);
    expect(hash).not.toContain('correct');
    expect(await verifyViewerPassword('correct horse', hash)).toBe(true);
    for (const wrong of ['correct hors', 'Correct horse', '', 'correct horse ', 'x'.repeat(300)]) {
      expect(await verifyViewerPassword(wrong, hash)).toBe(false);
    }
  });

  it('is deterministic in password and salt (an unchanged password leaves the table unchanged)', async () => {
    expect(await hashViewerPassword('pw', salt)).toBe(await hashViewerPassword('pw', salt));
    expect(await hashViewerPassword('pw', Buffer.alloc(16, 8))).not.toBe(await hashViewerPassword('pw', salt));
  });

  it('treats composed and decomposed Unicode alike', async () => {
    const hash = await hashViewerPassword('caf\u00e9', salt);
    expect(await verifyViewerPassword('cafe\u0301', hash)).toBe(true);
  });

  it('refuses malformed or hostile hashes without trying them', async () => {
    const good = await hashViewerPassword('pw', salt);
    const parts = good.split('$');
    const hostile = [
      'plain',
      good.replace(/^scrypt/, 'bcrypt'),
      ['scrypt', '30', ...parts.slice(2)].join('$'),
      ['scrypt', '14', '8', '1', 'c2hvcnQ', parts[5]].join('$'),
      [...parts.slice(0, 5), 'AAAA'].join('$'),
    ];
    for (const h of hostile) expect(await verifyViewerPassword('pw', h)).toBe(false);
  });

  it('refuses empty and over-long passwords and short salts when hashing', async () => {
    await expect(hashViewerPassword('', salt)).rejects.toThrow(/1\.\.256/);
    await expect(hashViewerPassword('x'.repeat(257), salt)).rejects.toThrow(/1\.\.256/);
    await expect(hashViewerPassword('pw', Buffer.alloc(8))).rejects.toThrow(/16 bytes/);
  });
});
