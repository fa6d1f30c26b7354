/**
 * `npm run preview`: renders every email template with sample data into preview/ (git-ignored),
 * as .html and .txt files a person can open, and an index.html linking them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  createEmailRenderer,
  emailKinds,
  sampleEmailData,
} from '../functions/notifications/emails';
import { compileTemplateSources } from './email-templates';
import type { ExpiryReason } from '../functions/platform/schemas';

const outputDirectory = fileURLToPath(new URL('../preview/', import.meta.url));
mkdirSync(outputDirectory, { recursive: true });

// The templates as they are now, even before `npm run templates` compiled them.
const renderer = createEmailRenderer(compileTemplateSources());
const links: string[] = [];
for (const kind of emailKinds) {
  for (const reason of ['expired', 'invalid'] as ExpiryReason[]) {
    const email = renderer.render(kind, {
      ...sampleEmailData,
      reason,
      actionUrl:
        kind === 'owner'
          ? 'https://app.example.com/instagram-accounts'
          : 'https://app.example.com/instagram-accounts?account=17841400000000001',
    });
    const name = `${kind}-${reason}`;
    writeFileSync(`${outputDirectory}${name}.html`, email.html);
    writeFileSync(`${outputDirectory}${name}.txt`, `Subject: ${email.subject}\n\n${email.text}`);
    links.push(
      `<li><strong>${name}</strong>: ${escapeHtml(email.subject)} — <a href="${name}.html">HTML</a> · <a href="${name}.txt">text</a></li>`,
    );
  }
}
writeFileSync(
  `${outputDirectory}index.html`,
  `<!doctype html><meta charset="utf-8"><title>tokenwatch emails</title><h1>tokenwatch emails</h1><ul>${links.join('')}</ul>\n`,
);
console.log(`Wrote ${links.length * 2} previews and an index to ${outputDirectory}index.html`);

function escapeHtml(value: string): string {
  return value.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
