/**
 * `npm run templates`: compiles templates/*.hbs into plain functions in
 * functions/notifications/email-templates.generated.ts. Handlebars parses them (its own parser,
 * whitespace rules included) here, at build time; what ships is string concatenation, with no
 * template runtime at all: 35 KiB less in the notifier's bundle than Handlebars' precompiled
 * form and runtime, and nothing to set up at cold start (bench/README.md).
 *
 * templates/ holds `<template>.<part>.hbs` for every `TemplateName` of occasions.ts (a kind of
 * occasion for one audience, `expired-owner`) and every part (subject, html, text); a file for
 * any other name or part, or a part missing, fails here with the file's name.
 *
 * The templates use a small part of Handlebars, and the compiler accepts only that part:
 * `{{field}}` (or `{{this.field}}`), `{{#if field}}…{{else}}…{{/if}}` (with `{{else if}}`),
 * `{{#each list}}…{{/each}}` and, outside the HTML bodies, `{{{field}}}`, with fields from
 * `emailViewFields`. Inside `{{#each list}}` the fields are the list item's own, as Handlebars
 * sees them: `{{username}}` is the item's. Anything else fails here with the template and the
 * line. A test renders every template both ways, compiled here and by Handlebars itself, and
 * compares.
 */
import Handlebars from 'handlebars';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  emailParts,
  emailViewFields,
  escapeTemplateValue,
  escapesHtml,
  type EmailPart,
  type EmailTemplates,
  type TemplateSources,
  type ViewFields,
  type ViewOf,
} from '../functions/notifications/email-model';
import { templateNames, type TemplateName } from '../functions/notifications/occasions';

const repositoryRoot = fileURLToPath(new URL('../', import.meta.url));
export const templatesDirectory = fileURLToPath(new URL('../templates/', import.meta.url));
export const generatedFile = fileURLToPath(
  new URL('../functions/notifications/email-templates.generated.ts', import.meta.url),
);

export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** A template file as messages name it: `templates/expired-owner.html.hbs`. */
const fileLabel = (directory: string, file: string) =>
  relative(repositoryRoot, join(directory, file));
const fileName = (name: string, part: EmailPart) => `${name}.${part}.hbs`;

/**
 * Every template's parts, for exactly the names given (the product's `templateNames` unless a
 * test brings its own): a file for no known name or part, or a known one missing, is refused.
 */
export function readTemplateSources<Name extends string = TemplateName>(
  directory: string = templatesDirectory,
  names: readonly Name[] = templateNames as readonly string[] as readonly Name[],
): TemplateSources<Name> {
  const known = new Set<string>(names);
  const parts = new Set<string>(emailParts);
  for (const file of readdirSync(directory)
    .filter((entry) => entry.endsWith('.hbs'))
    .sort()) {
    const match = /^(?<name>[^.]+)\.(?<part>[^.]+)\.hbs$/.exec(file);
    const { name = '', part = '' } = match?.groups ?? {};
    if (!match) {
      throw new TemplateError(
        `${fileLabel(directory, file)}: a template file is named <template>.<part>.hbs`,
      );
    }
    if (!known.has(name)) {
      throw new TemplateError(
        `${fileLabel(directory, file)}: ${name} is not a template (${names.join(', ')}); ` +
          'a template is named for a kind of occasion and an audience, in ' +
          'functions/notifications/occasions.ts',
      );
    }
    if (!parts.has(part)) {
      throw new TemplateError(
        `${fileLabel(directory, file)}: ${part} is not a part of an email (${emailParts.join(', ')})`,
      );
    }
  }
  const read = (name: Name, part: EmailPart) => {
    const file = fileName(name, part);
    try {
      return readFileSync(join(directory, file), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      throw new TemplateError(
        `${fileLabel(directory, file)} is missing: every template has ${emailParts.join(', ')}`,
      );
    }
  };
  return Object.fromEntries(
    names.map((name) => [
      name,
      Object.fromEntries(emailParts.map((part) => [part, read(name, part)])),
    ]),
  ) as TemplateSources<Name>;
}

/** Where a template's names resolve: the view, or the item of the list being looped over. */
interface Scope {
  /** the JavaScript variable holding it in the compiled code */
  readonly variable: string;
  readonly fields: ViewFields;
  /** for messages: "the email view", "an item of accounts" */
  readonly description: string;
  readonly depth: number;
}

const constructs =
  'a template may use {{field}}, {{#if field}}…{{else}}…{{/if}}, {{#each list}}…{{/each}}, ' +
  'and {{{field}}} outside HTML only';

/**
 * A template as one JavaScript expression over `view` (of the given fields), with `escape` for
 * HTML values.
 */
export function compileTemplate(
  source: string,
  file: string,
  part: EmailPart,
  fields: ViewFields = emailViewFields,
): string {
  const refuse = (node: hbs.AST.Node, what: string): never => {
    throw new TemplateError(`${file}:${node.loc.start.line}: ${what}; ${constructs}`);
  };
  /** The field a path names in this scope, as `{{name}}` or `{{this.name}}`. */
  const field = (node: hbs.AST.Node, scope: Scope) => {
    const path = node as Partial<hbs.AST.PathExpression>;
    const [name, ...more] = path.parts ?? [];
    if (
      node.type !== 'PathExpression' ||
      path.data === true ||
      path.depth !== 0 ||
      name === undefined ||
      more.length > 0 ||
      (path.original !== name && path.original !== `this.${name}`)
    ) {
      return refuse(node, `a ${node.type} where a field belongs`);
    }
    const kind = Object.hasOwn(scope.fields, name) ? scope.fields[name] : undefined;
    if (kind === undefined) {
      return refuse(
        node,
        `{{${name}}} is not a field of ${scope.description} (${Object.keys(scope.fields).join(', ')})`,
      );
    }
    return { name, kind, value: `${scope.variable}.${name}` };
  };
  /** A field that holds one value, shown or tested: a list is only for {{#each}}. */
  const single = (node: hbs.AST.Node, scope: Scope) => {
    const found = field(node, scope);
    if (typeof found.kind === 'object') {
      return refuse(node, `${found.name} is a list: go through it with {{#each ${found.name}}}`);
    }
    return { ...found, kind: found.kind };
  };
  // The type says every mustache has a hash; the parser leaves it out when there is none.
  const hasHash = (node: object) => (node as { hash?: unknown }).hash !== undefined;
  const hasArguments = (node: { params: unknown[] }) => node.params.length > 0 || hasHash(node);
  const block = (statement: hbs.AST.BlockStatement, scope: Scope): string => {
    const helper = (statement.path as Partial<hbs.AST.PathExpression>).original;
    const [subject, ...rest] = statement.params;
    if (
      (helper !== 'if' && helper !== 'each') ||
      subject === undefined ||
      rest.length > 0 ||
      hasHash(statement)
    ) {
      return refuse(statement, 'only {{#if field}} and {{#each list}} blocks are supported');
    }
    if (helper === 'if') {
      const condition = single(subject, scope);
      return `(${condition.value} ? ${program(statement.program, scope)} : ${program(statement.inverse, scope)})`;
    }
    const list = field(subject, scope);
    if (typeof list.kind !== 'object') {
      return refuse(statement, `{{#each ${list.name}}}: ${list.name} is not a list`);
    }
    if ((statement.program as { blockParams?: string[] }).blockParams !== undefined) {
      return refuse(statement, `{{#each ${list.name} as |…|}}: name the item's fields directly`);
    }
    if ((statement as { inverse?: unknown }).inverse !== undefined) {
      return refuse(statement, `{{#each ${list.name}}} takes no {{else}}`);
    }
    const item: Scope = {
      variable: `item${scope.depth + 1}`,
      fields: list.kind.list,
      description: `an item of ${list.name}`,
      depth: scope.depth + 1,
    };
    return `${list.value}.map((${item.variable}) => ${program(statement.program, item)}).join("")`;
  };
  const program = (node: hbs.AST.Program | undefined, scope: Scope): string => {
    const pieces = (node?.body ?? []).flatMap((statement): string[] => {
      switch (statement.type) {
        case 'ContentStatement': {
          const { value } = statement as hbs.AST.ContentStatement;
          return value === '' ? [] : [JSON.stringify(value)];
        }
        case 'CommentStatement':
          return [];
        case 'MustacheStatement': {
          const mustache = statement as hbs.AST.MustacheStatement;
          if (hasArguments(mustache)) return refuse(mustache, 'helpers are not supported');
          const shown = single(mustache.path, scope);
          if (escapesHtml(part) && !mustache.escaped) {
            // Every view field is text, and a text is whatever a user typed.
            return refuse(mustache, `{{{${shown.name}}}} would put it into the HTML unescaped`);
          }
          if (escapesHtml(part)) return [`escape(${shown.value})`];
          return [shown.kind === 'flag' ? `String(${shown.value})` : shown.value];
        }
        case 'BlockStatement':
          return [block(statement as hbs.AST.BlockStatement, scope)];
        default:
          return refuse(statement, `a ${statement.type} is not supported`);
      }
    });
    return pieces.length === 0 ? '""' : pieces.join(' + ');
  };
  let parsed: hbs.AST.Program;
  try {
    parsed = Handlebars.parse(source);
  } catch (error) {
    throw new TemplateError(`${file}: ${(error as Error).message}`);
  }
  return program(parsed, { variable: 'view', fields, description: 'the email view', depth: 0 });
}

export interface CompileOptions {
  /** where the sources were read, for messages; templates/ by default */
  directory?: string;
  /** the fields the templates may name; `emailViewFields` by default */
  fields?: ViewFields;
}

const compileAll = <Name extends string>(
  sources: TemplateSources<Name>,
  { directory = templatesDirectory, fields = emailViewFields }: CompileOptions = {},
) =>
  (Object.entries(sources) as [Name, Record<EmailPart, string>][]).map(
    ([name, parts]) =>
      [
        name,
        emailParts.map(
          (part) =>
            [
              part,
              compileTemplate(
                parts[part],
                fileLabel(directory, fileName(name, part)),
                part,
                fields,
              ),
            ] as const,
        ),
      ] as const,
  );

/** The same expression the generated module holds, made a function in this process. */
function templateFunction(expression: string): (view: never) => string {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const withEscape = new Function('escape', `return (view) => ${expression};`) as (
    escape: typeof escapeTemplateValue,
  ) => (view: never) => string;
  return withEscape(escapeTemplateValue);
}

/**
 * The templates as they are now, compiled in this process: for `npm run preview` and tests,
 * which may bring templates of their own, with their own fields.
 */
export function compileTemplateSources<
  Name extends string = TemplateName,
  Fields extends ViewFields = typeof emailViewFields,
>(
  sources: TemplateSources<Name> = readTemplateSources<Name>(),
  options: CompileOptions & { fields?: Fields } = {},
): EmailTemplates<Name, ViewOf<Fields>> {
  return Object.fromEntries(
    compileAll(sources, options).map(([name, parts]) => [
      name,
      Object.fromEntries(parts.map(([part, expression]) => [part, templateFunction(expression)])),
    ]),
  ) as EmailTemplates<Name, ViewOf<Fields>>;
}

export function renderGeneratedModule(sources: TemplateSources = readTemplateSources()): string {
  const entries = compileAll(sources).map(
    ([name, parts]) =>
      `  ${JSON.stringify(name)}: {\n${parts.map(([part, expression]) => `    ${part}: (view) =>\n      ${expression},`).join('\n')}\n  },`,
  );
  return [
    '// Generated by `npm run templates` from templates/*.hbs: edit those, then run it again.',
    '// Type-checked like any other module: a field the view lacks fails `npm run build`.',
    "import { escapeTemplateValue as escape, type EmailTemplates } from './email-model';",
    '',
    'export const compiledTemplates: EmailTemplates = {',
    ...entries,
    '};',
    '',
  ].join('\n');
}

/**
 * Handlebars itself, compiling the same sources: the reference the compiled templates match.
 * It takes any view, and (strict) throws on a field the view lacks.
 */
export function handlebarsTemplates<Name extends string = TemplateName>(
  sources: TemplateSources<Name> = readTemplateSources<Name>(),
): EmailTemplates<Name, unknown> {
  const handlebars = Handlebars.create();
  return Object.fromEntries(
    (Object.entries(sources) as [Name, Record<EmailPart, string>][]).map(([name, parts]) => [
      name,
      Object.fromEntries(
        emailParts.map((part) => [
          part,
          handlebars.compile(parts[part], {
            strict: true,
            noEscape: !escapesHtml(part),
          }),
        ]),
      ),
    ]),
  ) as EmailTemplates<Name, unknown>;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(generatedFile, renderGeneratedModule());
  console.log(`wrote ${generatedFile}`);
}
