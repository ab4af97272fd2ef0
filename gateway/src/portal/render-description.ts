// A streamer's Markdown description as HTML a viewer's browser can take: rendered with marked, then passed through
// an allow-list (sanitize-html) so nothing the streamer writes runs or loads anything: no scripts, event handlers,
// styles, frames, forms or images (an image would be a request to anywhere); links only to http(s) and mailto, and
// marked as user content. The page's Content-Security-Policy is the second wall, not the first. Pure.
import { Marked } from 'marked';
import sanitizeHtml from 'sanitize-html';

const marked = new Marked({ async: false, gfm: true, breaks: true });

const linkRel = 'nofollow noopener ugc';

const policy: sanitizeHtml.IOptions = {
  allowedTags: [
    'p',
    'br',
    'hr',
    'strong',
    'em',
    'b',
    'i',
    'del',
    's',
    'code',
    'pre',
    'blockquote',
    'ul',
    'ol',
    'li',
    'h3',
    'h4',
    'h5',
    'h6',
    'a',
    'table',
    'thead',
    'tbody',
    'tr',
    'th',
    'td',
  ],
  allowedAttributes: { a: ['href', 'title', 'rel'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesAppliedToAttributes: ['href'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  // Dropped with what they contain, not just unwrapped (a <script>'s text is not prose).
  nonTextTags: [
    'script',
    'style',
    'textarea',
    'option',
    'noscript',
    'iframe',
    'object',
    'embed',
    'template',
    'svg',
    'math',
    'title',
  ],
  transformTags: {
    // The page's own title is the only h1/h2 on it.
    h1: 'h3',
    h2: 'h3',
    a: (tagName, attribs) => ({ tagName, attribs: { ...attribs, rel: linkRel } }),
  },
  exclusiveFilter: (frame) => frame.tag === 'a' && !frame.attribs.href && !frame.text.trim(),
};

export function renderDescription(markdown: string | undefined): string {
  if (!markdown?.trim()) return '';
  const html = marked.parse(markdown) as string;
  return sanitizeHtml(html, policy);
}
