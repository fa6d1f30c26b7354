/**
 * The two emails and their three parts, and how each part is compiled: shared by the renderer
 * and by the build step that precompiles the templates (which must not need its own output).
 */
export type EmailKind = 'owner' | 'developer';
export const emailKinds: readonly EmailKind[] = ['owner', 'developer'];

export const emailParts = ['subject', 'html', 'text'] as const;
export type EmailPart = (typeof emailParts)[number];

/** strict: a field missing from the data is an error, never an empty gap in a sent email. */
export const templateOptions = (part: EmailPart) => ({ strict: true, noEscape: part !== 'html' });

export type TemplateSources = Record<EmailKind, Record<EmailPart, string>>;
export type EmailTemplate = (view: Record<string, unknown>) => string;
export type EmailTemplates = Record<EmailKind, Record<EmailPart, EmailTemplate>>;
