// Lists product functions longer than a limit (default 80 lines), longest first: `make long-functions`.
// Product code is */src/**/*.ts outside tests and generated files. A function whose body is one HTML template (a page)
// is exempt, as are declarations (types, interfaces, object tables): they are not logic. Exits 1 when any is listed.
//
//   node scripts/long-functions.ts [--max N]
import { readFileSync } from 'node:fs';
import { glob } from 'node:fs/promises';
import { join, relative } from 'node:path';
import ts from 'typescript';

const root = join(import.meta.dirname, '..');

export interface LongFunction {
  file: string;
  line: number;
  name: string;
  lines: number;
}

const isFunction = (n: ts.Node): n is ts.FunctionLikeDeclaration =>
  ts.isFunctionDeclaration(n) ||
  ts.isMethodDeclaration(n) ||
  ts.isArrowFunction(n) ||
  ts.isFunctionExpression(n) ||
  ts.isConstructorDeclaration(n) ||
  ts.isGetAccessorDeclaration(n) ||
  ts.isSetAccessorDeclaration(n);

/** A body that only returns one template literal (an HTML page) is markup, not logic. */
function isTemplateOnly(body: ts.Node | undefined): boolean {
  if (!body) return false;
  if (ts.isTemplateExpression(body) || ts.isNoSubstitutionTemplateLiteral(body)) return true;
  if (!ts.isBlock(body)) return false;
  const returns = body.statements.filter(ts.isReturnStatement);
  const last = returns.at(-1)?.expression;
  if (!last || !(ts.isTemplateExpression(last) || ts.isNoSubstitutionTemplateLiteral(last))) return false;
  const { line: from } = body.getSourceFile().getLineAndCharacterOfPosition(last.getStart());
  const { line: to } = body.getSourceFile().getLineAndCharacterOfPosition(last.getEnd());
  return to - from >= 0.7 * lineSpan(body);
}

function lineSpan(node: ts.Node): number {
  const sf = node.getSourceFile();
  return (
    sf.getLineAndCharacterOfPosition(node.getEnd()).line - sf.getLineAndCharacterOfPosition(node.getStart()).line + 1
  );
}

function nameOf(node: ts.FunctionLikeDeclaration): string {
  if (node.name && ts.isIdentifier(node.name)) return node.name.text;
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (ts.isPropertyAssignment(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  return '(anonymous)';
}

/** Pure over one file's text: the functions of it longer than `max` lines. */
export function longFunctions(file: string, text: string, max: number): LongFunction[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: LongFunction[] = [];
  const visit = (node: ts.Node): void => {
    if (isFunction(node) && node.body) {
      const lines = lineSpan(node);
      if (lines > max && !isTemplateOnly(node.body)) {
        const line = sf.getLineAndCharacterOfPosition(node.getStart()).line + 1;
        found.push({ file, line, name: nameOf(node), lines });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

async function main(argv: string[]): Promise<number> {
  const i = argv.indexOf('--max');
  const max = i >= 0 ? Number(argv[i + 1]) : 80;
  const found: LongFunction[] = [];
  for await (const path of glob('*/src/**/*.ts', { cwd: root })) {
    if (path.startsWith('node_modules/') || /\.test\.ts$|\.generated\.ts$|\/vendor\//.test(path)) continue;
    found.push(...longFunctions(relative(root, join(root, path)), readFileSync(join(root, path), 'utf8'), max));
  }
  found.sort((a, b) => b.lines - a.lines);
  for (const f of found) console.log(`${String(f.lines).padStart(4)} lines  ${f.file}:${f.line}  ${f.name}`);
  console.log(found.length === 0 ? `no product function over ${max} lines` : `${found.length} over ${max} lines`);
  return found.length === 0 ? 0 : 1;
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
