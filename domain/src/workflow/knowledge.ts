/**
 * Knowledge articles: how-to, FAQ and known-error articles, reviewed by someone other than the
 * author before they are published.
 *
 *   draft → in_review → approved → published → retired (final)
 *   in_review → draft   (the reviewer asks for changes, with a note)
 *   approved → draft    (reworked before publishing)
 *
 * Versions: a published article is never edited in place. A new version starts as a draft
 * (`newArticleVersion`); publishing it retires the version it supersedes.
 */
import { defineMachine, type MoveResult } from './machine.ts';

export const ARTICLE_TYPES = ['how_to', 'faq', 'known_error'] as const;
export type ArticleType = (typeof ARTICLE_TYPES)[number];
export const ARTICLE_STATUSES = ['draft', 'in_review', 'approved', 'published', 'retired'] as const;
export type ArticleStatus = (typeof ARTICLE_STATUSES)[number];

export type ArticleRefusal =
  | 'not_author'
  | 'reviewer_is_author'
  | 'not_reviewer'
  | 'missing_review_note'
  | 'not_publisher'
  | 'empty_article';

export interface ArticleContext {
  actorId: string;
  authorId: string;
  /** The actor's role allows reviewing (approving or sending back). */
  actorCanReview: boolean;
  /** The actor's role allows publishing and retiring. */
  actorCanPublish: boolean;
  title: string;
  body: string;
  reviewNote?: string | null;
}

export const articleMachine = defineMachine<ArticleStatus, ArticleContext, ArticleRefusal>({
  name: 'article',
  states: ARTICLE_STATUSES,
  transitions: {
    draft: ['in_review'],
    in_review: ['approved', 'draft'],
    approved: ['published', 'draft'],
    published: ['retired'],
    retired: [],
  },
  guard(from, to, c) {
    if (from === 'draft' && to === 'in_review') {
      if (c.actorId !== c.authorId) return 'not_author';
      if (!c.title.trim() || !c.body.trim()) return 'empty_article';
    }
    if (from === 'in_review') {
      if (c.actorId === c.authorId) return 'reviewer_is_author';
      if (!c.actorCanReview) return 'not_reviewer';
      if (to === 'draft' && !c.reviewNote?.trim()) return 'missing_review_note';
    }
    if (from === 'approved' && to === 'draft' && c.actorId !== c.authorId && !c.actorCanReview)
      return 'not_reviewer';
    if ((to === 'published' || to === 'retired') && !c.actorCanPublish) return 'not_publisher';
    return null;
  },
  sentences: {
    not_author: {
      en: 'Only the author can send this article for review.',
      fa: 'فقط نویسنده می‌تواند این مقاله را برای بازبینی بفرستد.',
    },
    reviewer_is_author: {
      en: 'You wrote this article, so someone else must review it.',
      fa: 'این مقاله را خودتان نوشته‌اید؛ باید فرد دیگری آن را بازبینی کند.',
    },
    not_reviewer: {
      en: 'Your role cannot review articles. Ask a reviewer or your supervisor.',
      fa: 'نقش شما اجازهٔ بازبینی مقاله را ندارد. از بازبین یا سرپرست خود بخواهید.',
    },
    missing_review_note: {
      en: 'Write what should change before sending the article back.',
      fa: 'پیش از برگرداندن مقاله بنویسید چه چیزی باید تغییر کند.',
    },
    not_publisher: {
      en: 'Your role cannot publish or retire articles. Ask your supervisor.',
      fa: 'نقش شما اجازهٔ انتشار یا بایگانی مقاله را ندارد. با سرپرست خود هماهنگ کنید.',
    },
    empty_article: {
      en: 'Give the article a title and a body before sending it for review.',
      fa: 'پیش از ارسال برای بازبینی، برای مقاله عنوان و متن بنویسید.',
    },
  },
});

export function transitionArticle(
  from: string,
  to: string,
  context: ArticleContext,
): MoveResult<ArticleStatus, ArticleRefusal> {
  return articleMachine.transition(from, to, context);
}

/** The forward order of review; a device may push several forward steps at once (offline). */
const REVIEW_ORDER: readonly ArticleStatus[] = ['draft', 'in_review', 'approved', 'published'];

/**
 * A status change as a device pushes it, which may be several forward steps taken offline (an author
 * who writes and submits; a reviewer who approves and publishes): each step is checked by the machine
 * with the same context, and the first refusal is the answer. Backward moves and retiring are
 * single steps.
 */
export function transitionArticlePath(
  from: string,
  to: string,
  context: ArticleContext,
): MoveResult<ArticleStatus, ArticleRefusal> {
  const a = REVIEW_ORDER.indexOf(from as ArticleStatus);
  const b = REVIEW_ORDER.indexOf(to as ArticleStatus);
  if (a < 0 || b < 0 || b <= a + 1) return transitionArticle(from, to, context);
  for (let i = a; i < b; i++) {
    const step = transitionArticle(REVIEW_ORDER[i]!, REVIEW_ORDER[i + 1]!, context);
    if (!step.ok) return step;
  }
  return { ok: true, from: from as ArticleStatus, to: to as ArticleStatus };
}

export interface ArticleVersionRef {
  articleId: string;
  version: number;
  status: ArticleStatus;
  authorId: string;
}

/** The draft of the next version of an article, authored by `authorId`. */
export function newArticleVersion(
  versions: readonly ArticleVersionRef[],
  articleId: string,
  authorId: string,
): ArticleVersionRef {
  const latest = versions
    .filter((v) => v.articleId === articleId)
    .reduce((max, v) => Math.max(max, v.version), 0);
  return { articleId, version: latest + 1, status: 'draft', authorId };
}

/** The versions to retire when `version` of `articleId` is published: every other published one. */
export function versionsSupersededBy(
  versions: readonly ArticleVersionRef[],
  articleId: string,
  version: number,
): ArticleVersionRef[] {
  return versions.filter(
    (v) => v.articleId === articleId && v.version !== version && v.status === 'published',
  );
}

export interface ArticleCaseLink {
  articleId: string;
  caseId: string;
  /** The article solved the case (not merely consulted). */
  solved: boolean;
  templateId: string | null;
  deviceModel: string | null;
  errorCode: string | null;
}

/**
 * Top articles for a subject: ranked by cases they solved, then by cases they were linked to,
 * among links matching every given filter (template, device model, diagnostic error code).
 */
export function topArticles(
  links: readonly ArticleCaseLink[],
  filter: { templateId?: string; deviceModel?: string; errorCode?: string },
  limit = 5,
): { articleId: string; solved: number; linked: number }[] {
  // articleId → caseId → solved; a case linked twice counts once, solved if either link says so.
  const byArticle = new Map<string, Map<string, boolean>>();
  for (const link of links) {
    if (filter.templateId && link.templateId !== filter.templateId) continue;
    if (filter.deviceModel && link.deviceModel !== filter.deviceModel) continue;
    if (filter.errorCode && link.errorCode !== filter.errorCode) continue;
    let cases = byArticle.get(link.articleId);
    if (!cases) byArticle.set(link.articleId, (cases = new Map()));
    cases.set(link.caseId, (cases.get(link.caseId) ?? false) || link.solved);
  }
  return [...byArticle.entries()]
    .map(([articleId, cases]) => ({
      articleId,
      solved: [...cases.values()].filter(Boolean).length,
      linked: cases.size,
    }))
    .sort((a, b) => b.solved - a.solved || b.linked - a.linked || a.articleId.localeCompare(b.articleId))
    .slice(0, limit);
}
