/**
 * `npm run preview`: renders every email template (occasions.ts' `templateNames`) with sample
 * data, once for each cause a token can be lost for (lifecycle.ts' `tokenCause`), into preview/
 * (git-ignored), as .html and .txt files a person can open, and an index.html linking them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  createEmailRenderer,
  sampleEmailData,
  templateNames,
  type ExpiredTokenEmailData,
  type TemplateName,
} from '../functions/notifications/emails';
import { compileTemplateSources } from './email-templates';
import { tokenCause } from '../functions/tokens/lifecycle';

/** Each template's sample: a new template fails to compile here until it has one. */
const samples: Record<TemplateName, ExpiredTokenEmailData> = {
  'expired-owner': sampleEmailData,
  'expired-developer': {
    ...sampleEmailData,
    actionUrl: 'https://app.example.com/instagram-accounts?account=17841400000000001',
  },
};

const outputDirectory = fileURLToPath(new URL('../preview/', import.meta.url));
mkdirSync(outputDirectory, { recursive: true });

// The templates as they are now, even before `npm run templates` compiled them.
const renderer = createEmailRenderer(compileTemplateSources());
const links: string[] = [];
for (const template of templateNames) {
  for (const cause of tokenCause.options) {
    const reason = cause === 'expired' ? 'expired' : 'invalid';
    const email = renderer.render(template, { ...samples[template], reason, cause });
    const name = `${template}-${cause}`;
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
