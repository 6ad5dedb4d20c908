/**
 * Push rules of `kb_articles` (issue 5, part 5): authoring through replication, so a technician can
 * draft offline. Called from rules.ts (checks) and field-rules.ts (server-owned fields, inside the
 * push transaction).
 *
 * - Anyone signed in creates a version as its author (`authorId` = the caller): a first version
 *   (`version` 1, `articleId` = its id) or the next version of a *published* one (`supersedes` it,
 *   same `articleId`, number + 1). A new version starts as a draft, or already submitted.
 * - Only the author changes a draft's content; in review, approved, published and retired versions
 *   are frozen (a published article changes through a new version).
 * - Status changes go through the domain's machine (`transitionArticlePath`): the author submits; a
 *   reviewer (supervisor or admin, never the author) approves or sends back with a note; a supervisor
 *   or admin publishes an approved version and retires a published one.
 * - A version is not published over a published version with the same or a higher number (two drafts
 *   started from the same version: the first published wins, the other starts again from it).
 * - Author, article, number and predecessor never change; only the author's draft (or an admin) is
 *   deleted.
 * The server records who reviewed, published and retired, and when (server-owned fields, on its clock).
 * Publishing version n+1 retires version n right after the push commits (engine/field-workflows.ts).
 * Every refusal carries a fa/en sentence that says what to do next; documents.ts audits it.
 */
import { KB_ARTICLE_CONTENT_FIELDS } from '@emdad/domain/model/index';
import { transitionArticlePath, type ArticleRefusal } from '@emdad/domain/workflow/knowledge';
import type { BaseRefusal, LocalizedSentence } from '@emdad/domain/workflow/machine';
import type { Queryable } from '../db/index.ts';
import { Refusal, type WriteInput } from './rules.ts';

type Doc = Record<string, unknown>;

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const iso = (ms: number) => new Date(ms).toISOString();

function refuse(code: Refusal['code'], sentence: LocalizedSentence): never {
  throw new Refusal(code, sentence.en, sentence);
}

/** Refusals about who acts are `forbidden`; the rest are moves the machine does not allow. */
const WHO_REFUSALS: ReadonlySet<ArticleRefusal | BaseRefusal> = new Set([
  'not_author',
  'reviewer_is_author',
  'not_reviewer',
  'not_publisher',
]);

const STATUS_WORDS: Record<string, { fa: string; en: string }> = {
  in_review: { fa: 'در حال بازبینی', en: 'in review' },
  approved: { fa: 'تأییدشده', en: 'approved' },
  published: { fa: 'منتشرشده', en: 'published' },
  retired: { fa: 'بایگانی‌شده', en: 'retired' },
};

const text = (localized: unknown): string => {
  const l = (localized ?? {}) as { fa?: unknown; en?: unknown };
  return [str(l.fa) ?? '', str(l.en) ?? ''].join(' ');
};

/** The stored, non-deleted version with this id. */
async function storedVersion(tx: Queryable, id: string): Promise<Doc | null> {
  const rows = await tx.query<{ doc: Doc }>(
    "SELECT doc FROM documents WHERE collection = 'kb_articles' AND id = $1 AND NOT deleted",
    [id],
  );
  return rows[0]?.doc ?? null;
}

async function checkNewVersion(tx: Queryable, candidate: Doc): Promise<void> {
  const supersedes = str(candidate.supersedes);
  if (!supersedes) {
    if (candidate.version !== 1 || candidate.articleId !== candidate.id)
      refuse('validation_failed', {
        en: 'A new article is version 1 and its article id is its own id. To change a published article, start a new version of it.',
        fa: 'مقالهٔ تازه نسخهٔ ۱ است و شناسهٔ مقاله‌اش همان شناسهٔ خودش است. برای تغییر مقالهٔ منتشرشده، نسخهٔ تازه‌ای از آن بسازید.',
      });
    return;
  }
  const previous = await storedVersion(tx, supersedes);
  if (!previous || previous.status !== 'published')
    refuse('validation_failed', {
      en: 'A new version starts from the published version of an article. Open the article’s current published version and edit that.',
      fa: 'نسخهٔ تازه از نسخهٔ منتشرشدهٔ مقاله ساخته می‌شود. نسخهٔ منتشرشدهٔ فعلی مقاله را باز کنید و آن را ویرایش کنید.',
    });
  const next = Number(previous.version) + 1;
  if (candidate.articleId !== previous.articleId || candidate.version !== next)
    refuse('validation_failed', {
      en: `The new version of this article must be number ${next} of article ${String(previous.articleId)}. Start the new version again from the published one.`,
      fa: `نسخهٔ تازهٔ این مقاله باید نسخهٔ شمارهٔ ${next} از مقالهٔ ${String(previous.articleId)} باشد. نسخهٔ تازه را دوباره از نسخهٔ منتشرشده بسازید.`,
    });
}

export async function checkKnowledgeWrite(tx: Queryable, input: WriteInput): Promise<void> {
  const { scope, master, candidate } = input;
  const me = scope.userId;
  const isAdmin = scope.role === 'admin';
  const canDecide = scope.role === 'supervisor' || isAdmin;

  if (!master) {
    if (candidate.authorId !== me)
      refuse('forbidden', {
        en: 'A new article is written by the signed-in user: set yourself as its author.',
        fa: 'مقالهٔ تازه به نام کاربر واردشده نوشته می‌شود: خودتان را نویسندهٔ آن قرار دهید.',
      });
    if (candidate.status !== 'draft' && candidate.status !== 'in_review')
      refuse('invalid_transition', {
        en: 'A new article starts as a draft (or sent for review). It is approved and published after review.',
        fa: 'مقالهٔ تازه به‌صورت پیش‌نویس (یا ارسال‌شده برای بازبینی) آغاز می‌شود و پس از بازبینی تأیید و منتشر می‌شود.',
      });
    if (str(candidate.reviewNote))
      refuse('forbidden', {
        en: 'Only the reviewer writes the review note. Leave it empty.',
        fa: 'یادداشت بازبینی را فقط بازبین می‌نویسد. آن را خالی بگذارید.',
      });
    if (input.deleted) return;
    await checkNewVersion(tx, candidate);
  } else {
    for (const field of ['authorId', 'articleId', 'version', 'supersedes'] as const)
      if (!same(master[field], candidate[field]))
        refuse('forbidden', {
          en: 'The author, article, number and predecessor of an article version never change. Start a new version instead.',
          fa: 'نویسنده، مقاله، شماره و نسخهٔ پیشین یک نسخه تغییر نمی‌کند. به‌جای آن نسخهٔ تازه‌ای بسازید.',
        });
  }

  const from = master ? String(master.status) : 'draft';
  const to = String(candidate.status);
  const authorId = String(candidate.authorId);

  if (input.deleted) {
    if (!master) return;
    if (from !== 'draft' || !(authorId === me || isAdmin))
      refuse('forbidden', {
        en: 'Only the author can delete a draft. A version in review or published stays; a published article is retired instead.',
        fa: 'فقط نویسنده می‌تواند پیش‌نویس را حذف کند. نسخهٔ در حال بازبینی یا منتشرشده می‌ماند؛ مقالهٔ منتشرشده بایگانی می‌شود.',
      });
    return;
  }

  if (master) {
    const contentChanged = KB_ARTICLE_CONTENT_FIELDS.some((f) => !same(master[f], candidate[f]));
    if (contentChanged) {
      // Edited in draft: a draft, or one the author took back to draft (approved → draft) offline.
      if (from !== 'draft' && to !== 'draft') {
        const word = STATUS_WORDS[from] ?? { fa: from, en: from };
        refuse('forbidden', {
          en: `This version is ${word.en}, so its text cannot change. Ask a reviewer to send it back to draft, or start a new version of a published article.`,
          fa: `این نسخه ${word.fa} است و متن آن تغییر نمی‌کند. از بازبین بخواهید آن را به پیش‌نویس برگرداند، یا از مقالهٔ منتشرشده نسخهٔ تازه‌ای بسازید.`,
        });
      }
      if (authorId !== me)
        refuse('forbidden', {
          en: 'Only the author changes this draft. Ask the author, or start your own article.',
          fa: 'فقط نویسنده این پیش‌نویس را تغییر می‌دهد. با نویسنده هماهنگ کنید یا مقالهٔ خودتان را بنویسید.',
        });
    }
    const noteChanged = !same(master.reviewNote, candidate.reviewNote);
    if (noteChanged && !(from === 'in_review' && (to === 'draft' || to === 'approved' || to === 'published')))
      refuse('forbidden', {
        en: 'Only the reviewer writes the review note, when approving the article or sending it back.',
        fa: 'یادداشت بازبینی را فقط بازبین، هنگام تأیید یا برگرداندن مقاله، می‌نویسد.',
      });
  }

  if (from !== to) {
    const move = transitionArticlePath(from, to, {
      actorId: me,
      authorId,
      actorCanReview: canDecide,
      actorCanPublish: canDecide,
      title: text(candidate.title),
      body: text(candidate.body),
      reviewNote: str(candidate.reviewNote),
    });
    if (!move.ok)
      throw new Refusal(
        WHO_REFUSALS.has(move.reason) ? 'forbidden' : 'invalid_transition',
        move.message.en,
        move.message,
      );
    if (to === 'published') {
      const newer = await tx.query<{ id: string; version: unknown }>(
        `SELECT id, doc ->> 'version' AS version FROM documents
         WHERE collection = 'kb_articles' AND NOT deleted AND doc ->> 'articleId' = $1 AND id <> $2
           AND doc ->> 'status' = 'published' AND (doc ->> 'version')::int >= $3
         ORDER BY (doc ->> 'version')::int DESC LIMIT 1`,
        [candidate.articleId, candidate.id, candidate.version],
      );
      if (newer[0])
        refuse('invalid_transition', {
          en: `Version ${String(newer[0].version)} of this article is already published. Start a new version from it and send that for review.`,
          fa: `نسخهٔ ${String(newer[0].version)} این مقاله پیش‌تر منتشر شده است. از آن نسخهٔ تازه‌ای بسازید و برای بازبینی بفرستید.`,
        });
    }
  }
}

/**
 * Server-owned fields a push adds (on the server's clock): the reviewer of a review decision, the
 * publisher, the retirement time. Stored server-owned fields are kept by the caller.
 */
export function knowledgeServerFields(input: WriteInput, at: number): Doc {
  const { master, candidate, scope } = input;
  const from = master ? String(master.status) : 'draft';
  const to = String(candidate.status);
  const out: Doc = {};
  if (from === to || input.deleted) return out;
  if (from === 'in_review') {
    out.reviewerId = scope.userId;
    out.reviewedAt = iso(at);
  }
  if (to === 'published') {
    out.publishedBy = scope.userId;
    out.publishedAt = iso(at);
  }
  if (to === 'retired') out.retiredAt = iso(at);
  return out;
}
