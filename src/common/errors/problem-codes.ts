/**
 * Every problem `code` the gateway answers (DESIGN §3.4, RFC 9457), with what it means and what to do, in French for
 * partners' developers. The code's own list: DomainError's `code` is typed by it, so an error cannot be thrown with a
 * code missing here, and docs/partners.md's catalogue is generated from it (`npm run docs:problems`), with a test that
 * fails when the two differ.
 */
export interface ProblemCodeInfo {
  /** The HTTP status(es) it comes with. */
  status: number[];
  /** Who meets it: a partner's back office, or operators and auditors (console and /admin/api). */
  audience: 'partner' | 'operator' | 'any';
  /** Whether the same request may succeed later, unchanged (the `retryable` member of the answer where it is set). */
  retryable: boolean;
  meaning: string;
  action: string;
}

const entry = (status: number | number[], audience: ProblemCodeInfo['audience'], retryable: boolean, meaning: string, action: string): ProblemCodeInfo =>
  ({ status: Array.isArray(status) ? status : [status], audience, retryable, meaning, action });

export const PROBLEM_CODES = {
  // Requests the gateway cannot read.
  invalid_request: entry(400, 'any', false, 'Un ou plusieurs champs sont invalides ; `errors[]` donne chaque champ et la raison.',
    'Corriger les champs cités dans `errors` ; ne pas renvoyer la même requête.'),
  malformed_body: entry(400, 'any', false, "Le corps n'est pas du JSON valide.", 'Envoyer un JSON UTF-8 valide.'),
  bad_request: entry(400, 'any', false, 'La requête est mal formée (en-têtes, encodage).', 'Vérifier la requête envoyée (en-têtes, corps).'),
  unsupported_media_type: entry(415, 'any', false, "Le `Content-Type` n'est pas celui attendu.",
    'Envoyer `application/json` (ou `application/x-www-form-urlencoded` pour `/oauth/token`).'),
  payload_too_large: entry(413, 'any', false, 'Le corps dépasse la taille admise.', 'Réduire le corps de la requête.'),
  unauthorized: entry(401, 'any', false, 'Une authentification est requise.', 'S\'authentifier comme la route le demande.'),
  not_found: entry(404, 'any', false, "La ressource n'existe pas (ou pas pour vous).", "Vérifier l'URL et l'identifiant."),
  method_not_allowed: entry(405, 'any', false, "La méthode HTTP n'est pas admise sur cette route.", 'Utiliser la méthode documentée.'),
  not_acceptable: entry(406, 'any', false, 'Le format demandé (`Accept`) ne peut pas être servi.', 'Accepter `application/json`.'),
  request_timeout: entry(408, 'any', true, "Le corps de la requête est arrivé trop lentement.", 'Renvoyer la requête.'),
  conflict: entry(409, 'any', false, "La requête contredit l'état de la ressource.", "Relire l'état de la ressource avant de recommencer."),
  rate_limited: entry(429, 'any', true, 'Trop de requêtes : la limite de débit est atteinte.',
    'Attendre le délai de `Retry-After` (secondes) puis recommencer ; lisser les appels.'),

  // Tokens (POST /oauth/token, RFC 6749 §5.2: `error` carries the same value).
  invalid_client: entry(401, 'partner', false, "Identifiants client inconnus ou faux, secret expiré, ou partenaire suspendu, révoqué ou parti (`error_description` dit lequel).",
    "Vérifier `client_id` et `client_secret` ; un secret expiré ou un partenaire suspendu : contacter la DINSIC."),
  invalid_scope: entry(400, 'partner', false, "Une catégorie demandée est inconnue ou n'a pas été accordée.", 'Ne demander que les catégories accordées (`GET /v1/me`).'),
  unsupported_grant_type: entry(400, 'partner', false, "Seul `grant_type=client_credentials` est admis.", 'Envoyer `grant_type=client_credentials`.'),

  // Bearer tokens on /v1.
  token_missing: entry(401, 'partner', false, "Aucun jeton d'accès (`Authorization: Bearer …`).", 'Obtenir un jeton (`POST /oauth/token`) et l\'envoyer.'),
  invalid_token: entry(401, 'partner', false, "Le jeton est mal formé, d'une autre origine, ou ne correspond plus à un partenaire.", 'Obtenir un nouveau jeton.'),
  token_expired: entry(401, 'partner', false, 'Le jeton a expiré (durée de vie : 10 minutes).', 'Obtenir un nouveau jeton puis renvoyer la requête.'),
  partner_inactive: entry(401, 'partner', false, 'Le partenaire est suspendu, révoqué ou parti : ses jetons ne fonctionnent plus.', 'Contacter la DINSIC.'),
  scope_not_granted: entry(403, 'partner', false, "Le jeton ne porte aucune des catégories qu'exige cet appel.",
    'Demander un jeton avec les catégories voulues, si elles vous sont accordées.'),

  // The lookup (POST /v1/droits/recherche).
  person_not_found: entry(404, 'partner', false, "L'Assurance maladie ne connaît pas cette personne. C'est une réponse définitive sur l'identification.",
    "Vérifier le NIR et l'identité ; ne pas conclure à l'absence de droits d'une personne connue autrement."),
  recipient_not_declared: entry(403, 'partner', false, "Le SIRET destinataire n'est pas l'un de ceux que le partenaire a déclarés.",
    'Utiliser un SIRET déclaré, ou en demander l\'ajout à la DINSIC.'),
  upstream_error: entry(502, 'partner', true, "Le service de l'Assurance maladie a répondu en erreur. Ce n'est jamais une décision sur les droits.",
    'Réessayer après `Retry-After` ; dire à la personne que l\'information est momentanément indisponible.'),
  upstream_timeout: entry(504, 'partner', true, "Le service de l'Assurance maladie n'a pas répondu à temps. Ce n'est jamais une décision sur les droits.",
    'Réessayer après `Retry-After`.'),
  upstream_unavailable: entry(503, 'partner', true, "Le service de l'Assurance maladie est indisponible (disjoncteur ouvert après des échecs répétés). Ce n'est jamais une décision sur les droits.",
    'Réessayer après `Retry-After` ; consulter la page d\'état.'),
  maintenance: entry(503, 'partner', true, 'Une maintenance annoncée est en cours (`maintenance_ends_at` donne sa fin). Ce n\'est jamais une décision sur les droits.',
    'Réessayer après `Retry-After` ; les maintenances sont annoncées par courriel, webhook et sur la page d\'état.'),
  audit_unavailable: entry(503, 'any', true, "L'accès n'a pas pu être tracé durablement : rien n'est fait et aucune donnée n'est rendue.",
    'Réessayer après `Retry-After`.'),

  // Partner self-service and access requests.
  disengagement_pending: entry(409, 'partner', false, 'Un départ est déjà annoncé.', 'Le consulter (`GET /v1/me`) ou l\'annuler (`DELETE /v1/me/disengagement`).'),
  request_not_amendable: entry(409, 'partner', false, "La demande d'accès ne peut être modifiée que lorsqu'un opérateur a demandé des modifications.",
    'Suivre la demande (`GET /v1/access-requests/{id}`).'),
  month_not_over: entry(409, 'any', false, "Le mois n'est pas terminé (heure de Paris) : son rapport n'existe pas encore.", 'Le demander après la fin du mois.'),
  report_not_found: entry(404, 'any', false, "Aucun rapport de disponibilité n'est publié pour ce mois.", 'Vérifier le mois (`YYYY-MM`).'),
  open_data_not_found: entry(404, 'any', false, "Aucune statistique publiée pour ce mois.", 'Vérifier le mois (`YYYY-MM`).'),

  // Operators and auditors (console, /admin/api).
  session_missing: entry(401, 'operator', false, "Une session d'opérateur est requise.", 'Se connecter (`POST /admin/api/session`).'),
  invalid_session: entry(401, 'operator', false, 'La session est invalide ou a expiré.', 'Se reconnecter.'),
  invalid_credentials: entry(401, 'operator', false, 'Adresse ou mot de passe faux.', 'Vérifier ses identifiants.'),
  totp_required: entry(401, 'operator', false, 'Ce compte a une double authentification : le code est requis.', 'Envoyer `totp`.'),
  invalid_totp: entry(401, 'operator', false, 'Le code de double authentification est faux, expiré ou déjà utilisé.', 'Saisir le code suivant.'),
  oidc_failed: entry(401, 'operator', false, "Le fournisseur d'identité n'a pas confirmé la connexion.", 'Recommencer la connexion.'),
  oidc_unknown_operator: entry(401, 'operator', false, "Aucun opérateur n'a cette adresse.", "Demander à un administrateur de créer le compte."),
  forbidden: entry(403, 'operator', false, "Cette route n'est pas ouverte.", '—'),
  role_required: entry(403, 'operator', false, "Cette action demande un rôle que le compte n'a pas.", 'Demander le rôle à un administrateur.'),
  second_factor_required: entry(403, 'operator', false, 'La double authentification est obligatoire et pas encore activée.', "L'activer dans la console (/console/securite)."),
  csrf_invalid: entry(403, 'operator', false, "Le formulaire a expiré ou ne vient pas de la console.", 'Recharger la page et recommencer.'),
  no_pending_enrolment: entry(409, 'operator', false, "Aucun authentificateur n'attend de confirmation.", "Commencer l'activation."),
  request_not_pending: entry(409, 'operator', false, "La demande d'accès est déjà traitée.", '—'),
  invalid_transition: entry(409, 'operator', false, "Ce changement de statut n'est pas possible depuis le statut actuel.", 'Relire le statut du partenaire.'),
  partner_closed: entry(409, 'operator', false, 'Le partenaire est révoqué ou parti.', '—'),
  terms_version_exists: entry(409, 'operator', false, 'Cette version des conditions existe déjà.', 'Choisir un autre numéro de version.'),
  operator_exists: entry(409, 'operator', false, 'Un opérateur a déjà cette adresse.', '—'),
  maintenance_over: entry(409, 'operator', false, 'La fenêtre de maintenance est terminée.', '—'),

  // Health and the unexpected.
  not_ready: entry(503, 'any', true, "La passerelle n'atteint pas sa base de données (`/health/ready`).", 'Réessayer ; alerte d\'exploitation.'),
  instance_stopping: entry(503, 'operator', true, "L'instance de la passerelle qui traitait la requête s'arrête (déploiement, redémarrage) : "
    + 'la vérification en cours est interrompue et rien n\'est modifié.', 'Relancer la requête : une autre instance, ou celle-ci redémarrée, la traitera.'),
  audit_chain_broken: entry(503, 'any', false, "Le journal d'audit a été altéré hors de la passerelle (`/health/ready`).", "Incident de sécurité : prévenir les auditeurs."),
  internal_error: entry(500, 'any', true, 'Erreur inattendue, journalisée côté passerelle.', 'Réessayer ; si elle persiste, la signaler avec le `request_id`.'),
} satisfies Record<string, ProblemCodeInfo>;

export type ProblemCode = keyof typeof PROBLEM_CODES;
