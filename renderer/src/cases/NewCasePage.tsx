import { useEffect, useMemo, useState } from 'react';
import { useForm, useWatch } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router';
import { CASE_CHANNELS, CASE_LIMITS, CASE_PRIORITIES } from '@emdad/domain';
import { DUPLICATE_WARNING, type DuplicateCandidate } from '@emdad/domain/workflow/duplicates';
import { mintTrackingCode } from '../db/tracking-sequence.ts';
import { useLanguage } from '../app/hooks.ts';
import { useServices, useUser } from '../app/services.ts';
import {
  buildNewCase,
  caseFormSchema,
  defaultChannelFor,
  localDuplicateOf,
  type CaseFormInput,
  type CaseFormValues,
} from './case-form.ts';

function FieldError({ id, message }: { id: string; message: string | undefined }) {
  const { t } = useTranslation();
  if (!message) return null;
  return (
    <p className="field-error" id={id} data-testid="field-error" role="alert">
      {t(message)}
    </p>
  );
}

export function NewCasePage() {
  const { t } = useTranslation();
  const lang = useLanguage();
  const navigate = useNavigate();
  const { deviceDb } = useServices();
  const { session, userDb, reference } = useUser();
  const [saveError, setSaveError] = useState(false);

  const form = useForm<CaseFormInput, unknown, CaseFormValues>({
    resolver: zodResolver(caseFormSchema),
    mode: 'onTouched',
    defaultValues: {
      templateId: '',
      channel: defaultChannelFor(session.user.role),
      priority: 'normal',
      merchantId: '',
      equipmentId: '',
      subject: '',
      description: '',
      reporterName: '',
      reporterPhone: '',
    },
  });
  const { register, handleSubmit, setValue, formState, control, getFieldState } = form;
  const errors = formState.errors;
  const templateId = useWatch({ control, name: 'templateId' });
  const merchantId = useWatch({ control, name: 'merchantId' });
  const equipmentId = useWatch({ control, name: 'equipmentId' });
  const [deviceCases, setDeviceCases] = useState<DuplicateCandidate[]>([]);

  const templates = useMemo(() => reference?.templates ?? [], [reference]);
  const merchants = reference?.merchants ?? [];
  const equipment = useMemo(
    () => (reference?.equipment ?? []).filter((e) => e.merchantId === merchantId),
    [reference, merchantId],
  );

  // A template brings its default priority, unless the user already chose one.
  useEffect(() => {
    const template = templates.find((x) => x.id === templateId);
    if (template && !getFieldState('priority').isDirty) setValue('priority', template.defaultPriority);
  }, [templateId, templates, setValue, getFieldState]);

  // Equipment belongs to a merchant: changing the merchant clears a choice that no longer fits.
  useEffect(() => {
    setValue('equipmentId', '');
  }, [merchantId, setValue]);

  // The cases this device holds for the chosen device, live: the duplicate warning below.
  useEffect(() => {
    if (!equipmentId) {
      setDeviceCases([]);
      return;
    }
    const sub = userDb.cases.find({ selector: { equipmentId } }).$.subscribe((docs) =>
      setDeviceCases(
        docs.map((d) => ({
          id: d.id,
          trackingCode: d.trackingCode,
          templateId: d.templateId,
          equipmentId: d.equipmentId ?? null,
          status: d.status,
          createdAt: d.createdAt,
        })),
      ),
    );
    return () => sub.unsubscribe();
  }, [userDb, equipmentId]);
  const duplicate = localDuplicateOf(
    { templateId, merchantId, equipmentId },
    deviceCases,
    new Date(),
    reference?.sla?.duplicateWindowMs,
  );

  const onSubmit = handleSubmit(async (values) => {
    setSaveError(false);
    try {
      const trackingCode = await mintTrackingCode(deviceDb, session.install.trackingPrefix);
      const doc = buildNewCase({ values, user: session.user, trackingCode });
      await userDb.cases.insert(doc);
      navigate(`/cases/${encodeURIComponent(doc.id)}/created`);
    } catch (err) {
      console.error('saving the case failed', err);
      setSaveError(true);
    }
  });

  const aria = (name: keyof CaseFormInput) => ({
    'aria-invalid': errors[name] ? true : undefined,
    'aria-describedby': errors[name] ? `${name}-error` : undefined,
  });

  return (
    <section aria-labelledby="new-case-title">
      <h1 id="new-case-title">{t('form.title')}</h1>
      {!reference && (
        <p className="notice" role="alert">
          {t('form.noReference')}
        </p>
      )}
      <form className="case-form" onSubmit={onSubmit} noValidate>
        <label className="field">
          <span>{t('form.template')}</span>
          <select data-testid="case-template" {...register('templateId')} {...aria('templateId')}>
            <option value="">{t('form.choosePlaceholder')}</option>
            {templates.map((tpl) => (
              <option key={tpl.id} value={tpl.id}>
                {tpl.name[lang]}
              </option>
            ))}
          </select>
          <FieldError id="templateId-error" message={errors.templateId?.message} />
        </label>
        <div className="row">
          <label className="field">
            <span>{t('form.channel')}</span>
            <select data-testid="case-channel" {...register('channel')} {...aria('channel')}>
              {CASE_CHANNELS.map((c) => (
                <option key={c} value={c}>
                  {t(`channel.${c}`)}
                </option>
              ))}
            </select>
            <FieldError id="channel-error" message={errors.channel?.message} />
          </label>
          <label className="field">
            <span>{t('form.priority')}</span>
            <select data-testid="case-priority" {...register('priority')} {...aria('priority')}>
              {CASE_PRIORITIES.map((p) => (
                <option key={p} value={p}>
                  {t(`priority.${p}`)}
                </option>
              ))}
            </select>
            <FieldError id="priority-error" message={errors.priority?.message} />
          </label>
        </div>
        <div className="row">
          <label className="field">
            <span>{t('form.merchant')}</span>
            <select data-testid="case-merchant" {...register('merchantId')}>
              <option value="">{t('form.none')}</option>
              {merchants.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.name[lang]}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>{t('form.equipment')}</span>
            <select data-testid="case-equipment" {...register('equipmentId')} disabled={!merchantId}>
              <option value="">{t('form.none')}</option>
              {equipment.map((e) => (
                <option key={e.id} value={e.id}>
                  {`${e.kind.toUpperCase()} ${e.model} · ${e.serial}`}
                </option>
              ))}
            </select>
          </label>
        </div>
        <label className="field">
          <span>{t('form.subject')}</span>
          <input
            data-testid="case-subject"
            maxLength={CASE_LIMITS.subjectMax + 50}
            {...register('subject')}
            {...aria('subject')}
          />
          <FieldError id="subject-error" message={errors.subject?.message} />
        </label>
        <label className="field">
          <span>{t('form.description')}</span>
          <textarea
            data-testid="case-description"
            rows={4}
            {...register('description')}
            {...aria('description')}
          />
          <FieldError id="description-error" message={errors.description?.message} />
        </label>
        <div className="row">
          <label className="field">
            <span>{t('form.reporterName')}</span>
            <input
              data-testid="case-reporter-name"
              autoComplete="name"
              {...register('reporterName')}
              {...aria('reporterName')}
            />
            <FieldError id="reporterName-error" message={errors.reporterName?.message} />
          </label>
          <label className="field">
            <span>{t('form.reporterPhone')}</span>
            <input
              data-testid="case-reporter-phone"
              type="tel"
              dir="ltr"
              inputMode="tel"
              autoComplete="tel"
              {...register('reporterPhone')}
              {...aria('reporterPhone')}
            />
            <small className="hint">{t('form.phoneHint')}</small>
            <FieldError id="reporterPhone-error" message={errors.reporterPhone?.message} />
          </label>
        </div>
        {duplicate && (
          <div
            className="notice"
            role="status"
            data-testid="duplicate-warning"
            data-duplicate-of={duplicate.id}
          >
            <p>{DUPLICATE_WARNING[lang]}</p>
            <p>
              {t('form.duplicateOf')}{' '}
              <code className="code" dir="ltr">
                {duplicate.trackingCode}
              </code>
            </p>
          </div>
        )}
        {saveError && (
          <p className="form-error" role="alert">
            {t('form.saveFailed')}
          </p>
        )}
        <button type="submit" className="primary" data-testid="case-save" disabled={formState.isSubmitting}>
          {formState.isSubmitting ? t('form.saving') : t('form.save')}
        </button>
      </form>
    </section>
  );
}
