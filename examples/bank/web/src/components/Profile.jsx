import { useState } from 'react';
import { useProfile, useProfileUpdate } from '../queries.js';

const FIELDS = [
  ['name', 'Name'],
  ['email', 'Email'],
  ['phone', 'Phone'],
];

export function Profile() {
  const { data } = useProfile();
  const update = useProfileUpdate();
  const [draft, setDraft] = useState(null);

  function save(event) {
    event.preventDefault();
    // profile_updated comes back from the backend and refetches ['profile'].
    update.mutate(draft, { onSuccess: () => setDraft(null) });
  }

  return (
    <section className="card">
      <h2>
        Profile
        {data && !draft && (
          <button
            type="button"
            className="link"
            onClick={() => setDraft({ name: data.name, email: data.email, phone: data.phone })}
          >
            Edit
          </button>
        )}
      </h2>
      {draft ? (
        <form className="profile-form" onSubmit={save}>
          {FIELDS.map(([field, label]) => (
            <label key={field}>
              {label}
              <input
                name={field}
                value={draft[field]}
                onChange={(e) => setDraft({ ...draft, [field]: e.target.value })}
              />
            </label>
          ))}
          <div className="buttons">
            <button type="submit" disabled={update.isPending}>
              Save
            </button>
            <button type="button" className="ghost" onClick={() => setDraft(null)}>
              Cancel
            </button>
          </div>
          {update.error && (
            <p className="error" role="alert">
              {update.error.message}
            </p>
          )}
        </form>
      ) : (
        <dl className="profile" data-testid="profile">
          {FIELDS.map(([field, label]) => (
            <div key={field}>
              <dt>{label}</dt>
              <dd>{data?.[field]}</dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}
