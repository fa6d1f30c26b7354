/**
 * `npm run templates`: compiles templates/*.hbs into plain functions in
 * functions/notifications/email-templates.generated.ts. Handlebars parses them (its own parser, whitespace
 * rules included) here, at build time; what ships is string concatenation, with no template
 * runtime at all: 35 KiB less in the notifier's bundle than Handlebars' precompiled form and
 * runtime, and nothing to set up at cold start (bench/README.md).
 *
 * The templates use a small part of Handlebars, and the compiler accepts only that part:
 * `{{field}}`, `{{#if field}}…{{else}}…{{/if}}` (with `{{else if}}`) and, outside the HTML
 * bodies, `{{{field}}}`, with fields from `emailViewFields`. Anything else fails here with the
 * template and the line. A test renders every template both ways, compiled here and by
 * Handlebars itself, and compares.
 */
import Handlebars from 'handlebars';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  emailKinds,
  emailParts,
  emailViewFields,
  escapeTemplateValue,
  escapesHtml,
  type EmailKind,
  type EmailPart,
  type EmailTemplate,
  type EmailTemplates,
  type TemplateSources,
} from '../functions/notifications/email-model';

export const templatesDirectory = fileURLToPath(new URL('../templates/', import.meta.url));
export const generatedFile = fileURLToPath(
  new URL('../functions/notifications/email-templates.generated.ts', import.meta.url),
);

export function readTemplateSources(directory = templatesDirectory): TemplateSources {
  const read = (kind: EmailKind) =>
    Object.fromEntries(
      emailParts.map((part) => [part, readFileSync(`${directory}${kind}.${part}.hbs`, 'utf8')]),
    ) as TemplateSources['owner'];
  return { owner: read('owner'), developer: read('developer') };
}

export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** A template as one JavaScript expression over `view`, with `escape` for HTML values. */
export function compileTemplate(source: string, file: string, part: EmailPart): string {
  const refuse = (node: hbs.AST.Node, what: string): never => {
    throw new TemplateError(
      `${file}:${node.loc.start.line}: ${what}; a template may use {{field}}, {{#if field}}…` +
        '{{else}}…{{/if}}, and {{{field}}} outside HTML only',
    );
  };
  /** The view field a path names; `view.name` in the compiled code. */
  const field = (node: hbs.AST.Node): keyof typeof emailViewFields => {
    const path = node as Partial<hbs.AST.PathExpression>;
    const name = path.original;
    if (
      node.type !== 'PathExpression' ||
      path.data === true ||
      path.depth !== 0 ||
      path.parts?.length !== 1 ||
      typeof name !== 'string'
    ) {
      return refuse(node, `a ${node.type} where a field belongs`);
    }
    if (!Object.hasOwn(emailViewFields, name)) {
      return refuse(
        node,
        `{{${name}}} is not a field of the email view (${Object.keys(emailViewFields).join(', ')})`,
      );
    }
    return name as keyof typeof emailViewFields;
  };
  // The type says every mustache has a hash; the parser leaves it out when there is none.
  const hasArguments = (node: { params: unknown[]; hash?: unknown }) =>
    node.params.length > 0 || node.hash !== undefined;
  const program = (node: hbs.AST.Program | undefined): string => {
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
          const name = field(mustache.path);
          if (escapesHtml(part) && !mustache.escaped) {
            // Every view field is text, and `name` is whatever a user typed.
            return refuse(mustache, `{{{${name}}}} would put it into the HTML unescaped`);
          }
          if (escapesHtml(part)) return [`escape(view.${name})`];
          return [emailViewFields[name] === 'flag' ? `String(view.${name})` : `view.${name}`];
        }
        case 'BlockStatement': {
          const block = statement as hbs.AST.BlockStatement;
          const [condition, ...rest] = block.params;
          if (
            (block.path as Partial<hbs.AST.PathExpression>).original !== 'if' ||
            condition === undefined ||
            rest.length > 0 ||
            (block as { hash?: unknown }).hash !== undefined
          ) {
            return refuse(block, 'only {{#if field}} blocks are supported');
          }
          return [
            `(view.${field(condition)} ? ${program(block.program)} : ${program(block.inverse)})`,
          ];
        }
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
  return program(parsed);
}

const compileAll = (sources: TemplateSources) =>
  emailKinds.map(
    (kind) =>
      [
        kind,
        emailParts.map(
          (part) =>
            [
              part,
              compileTemplate(sources[kind][part], `templates/${kind}.${part}.hbs`, part),
            ] as const,
        ),
      ] as const,
  );

/** The same expression the generated module holds, made a function in this process. */
function templateFunction(expression: string): EmailTemplate {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const withEscape = new Function('escape', `return (view) => ${expression};`) as (
    escape: typeof escapeTemplateValue,
  ) => EmailTemplate;
  return withEscape(escapeTemplateValue);
}

/** The templates as they are now, compiled in this process: for `npm run preview` and tests. */
export function compileTemplateSources(
  sources: TemplateSources = readTemplateSources(),
): EmailTemplates {
  return Object.fromEntries(
    compileAll(sources).map(([kind, parts]) => [
      kind,
      Object.fromEntries(parts.map(([part, expression]) => [part, templateFunction(expression)])),
    ]),
  ) as EmailTemplates;
}

export function renderGeneratedModule(sources: TemplateSources = readTemplateSources()): string {
  const entries = compileAll(sources).map(
    ([kind, parts]) =>
      `  ${kind}: {\n${parts.map(([part, expression]) => `    ${part}: (view) =>\n      ${expression},`).join('\n')}\n  },`,
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

/** Handlebars itself, compiling the same sources: the reference the compiled templates match. */
export function handlebarsTemplates(
  sources: TemplateSources = readTemplateSources(),
): EmailTemplates {
  const handlebars = Handlebars.create();
  return Object.fromEntries(
    emailKinds.map((kind) => [
      kind,
      Object.fromEntries(
        emailParts.map((part) => [
          part,
          handlebars.compile(sources[kind][part], { strict: true, noEscape: !escapesHtml(part) }),
        ]),
      ),
    ]),
  ) as EmailTemplates;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(generatedFile, renderGeneratedModule());
  console.log(`wrote ${generatedFile}`);
}
