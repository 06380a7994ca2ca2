// @generated automatically by Diesel CLI.

diesel::table! {
    api_keys (id) {
        id -> Integer,
        uuid -> Text,
        user_id -> Integer,
        name -> Text,
        prefix -> Text,
        key_hash -> Text,
        scopes -> Text,
        created_on -> Timestamp,
        created_by_fk -> Nullable<Integer>,
        expires_on -> Nullable<Timestamp>,
        last_used_on -> Nullable<Timestamp>,
        revoked_on -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Integer,
        created_on -> Timestamp,
        request_id -> Text,
        user_id -> Nullable<Integer>,
        username -> Text,
        tenant -> Nullable<Text>,
        tool -> Text,
        arguments -> Text,
        outcome -> Text,
        error_id -> Nullable<Text>,
        duration_ms -> Double,
    }
}

diesel::table! {
    chart_owners (chart_id, user_id) {
        chart_id -> Integer,
        user_id -> Integer,
    }
}

diesel::table! {
    charts (id) {
        id -> Integer,
        uuid -> Text,
        name -> Text,
        chart_type -> Text,
        dataset_id -> Integer,
        config -> Text,
        description -> Text,
        created_on -> Timestamp,
        changed_on -> Timestamp,
        created_by_fk -> Nullable<Integer>,
        changed_by_fk -> Nullable<Integer>,
        deleted_on -> Nullable<Timestamp>,
        deleted_by_fk -> Nullable<Integer>,
    }
}

diesel::table! {
    dashboard_charts (dashboard_id, chart_id) {
        dashboard_id -> Integer,
        chart_id -> Integer,
    }
}

diesel::table! {
    dashboard_owners (dashboard_id, user_id) {
        dashboard_id -> Integer,
        user_id -> Integer,
    }
}

diesel::table! {
    dashboards (id) {
        id -> Integer,
        uuid -> Text,
        title -> Text,
        slug -> Nullable<Text>,
        description -> Text,
        published -> Bool,
        layout -> Text,
        json_metadata -> Text,
        version -> Integer,
        created_on -> Timestamp,
        changed_on -> Timestamp,
        created_by_fk -> Nullable<Integer>,
        changed_by_fk -> Nullable<Integer>,
        deleted_on -> Nullable<Timestamp>,
        deleted_by_fk -> Nullable<Integer>,
        tenant -> Nullable<Text>,
    }
}

diesel::table! {
    databases (id) {
        id -> Integer,
        uuid -> Text,
        name -> Text,
        engine -> Text,
        connection_encrypted -> Text,
        settings -> Text,
        description -> Text,
        created_on -> Timestamp,
        changed_on -> Timestamp,
        created_by_fk -> Nullable<Integer>,
        changed_by_fk -> Nullable<Integer>,
        tenant -> Nullable<Text>,
    }
}

diesel::table! {
    dataset_columns (id) {
        id -> Integer,
        uuid -> Text,
        dataset_id -> Integer,
        column_name -> Text,
        data_type -> Text,
        is_temporal -> Bool,
        is_groupable -> Bool,
        is_filterable -> Bool,
        expression -> Nullable<Text>,
        description -> Text,
        created_on -> Timestamp,
        changed_on -> Timestamp,
        created_by_fk -> Nullable<Integer>,
        changed_by_fk -> Nullable<Integer>,
    }
}

diesel::table! {
    dataset_metrics (id) {
        id -> Integer,
        uuid -> Text,
        dataset_id -> Integer,
        metric_name -> Text,
        expression -> Text,
        verbose_name -> Nullable<Text>,
        description -> Text,
        d3format -> Nullable<Text>,
        created_on -> Timestamp,
        changed_on -> Timestamp,
        created_by_fk -> Nullable<Integer>,
        changed_by_fk -> Nullable<Integer>,
    }
}

diesel::table! {
    datasets (id) {
        id -> Integer,
        uuid -> Text,
        database_id -> Integer,
        schema_name -> Nullable<Text>,
        table_name -> Text,
        sql -> Nullable<Text>,
        description -> Text,
        main_dttm_col -> Nullable<Text>,
        extra -> Text,
        created_on -> Timestamp,
        changed_on -> Timestamp,
        created_by_fk -> Nullable<Integer>,
        changed_by_fk -> Nullable<Integer>,
        deleted_on -> Nullable<Timestamp>,
        deleted_by_fk -> Nullable<Integer>,
        cache_timeout -> Nullable<Integer>,
    }
}

diesel::table! {
    dataset_owners (dataset_id, user_id) {
        dataset_id -> Integer,
        user_id -> Integer,
    }
}

diesel::table! {
    query_history (id) {
        id -> Integer,
        uuid -> Text,
        user_id -> Nullable<Integer>,
        database_id -> Integer,
        schema_name -> Nullable<Text>,
        sql -> Text,
        executed_sql -> Nullable<Text>,
        status -> Text,
        error_message -> Nullable<Text>,
        row_count -> Nullable<BigInt>,
        duration_ms -> Nullable<BigInt>,
        started_on -> Timestamp,
        finished_on -> Nullable<Timestamp>,
    }
}

diesel::table! {
    rls_rule_datasets (rls_rule_id, dataset_id) {
        rls_rule_id -> Integer,
        dataset_id -> Integer,
    }
}

diesel::table! {
    rls_rule_roles (rls_rule_id, role_id) {
        rls_rule_id -> Integer,
        role_id -> Integer,
    }
}

diesel::table! {
    rls_rules (id) {
        id -> Integer,
        uuid -> Text,
        name -> Text,
        filter_type -> Text,
        group_key -> Nullable<Text>,
        clause -> Text,
        description -> Text,
        created_on -> Timestamp,
        changed_on -> Timestamp,
        created_by_fk -> Nullable<Integer>,
        changed_by_fk -> Nullable<Integer>,
        tenant -> Nullable<Text>,
    }
}

diesel::table! {
    role_permissions (id) {
        id -> Integer,
        role_id -> Integer,
        permission -> Text,
        object_type -> Nullable<Text>,
        object_id -> Nullable<Integer>,
        created_on -> Timestamp,
        created_by_fk -> Nullable<Integer>,
    }
}

diesel::table! {
    roles (id) {
        id -> Integer,
        uuid -> Text,
        name -> Text,
        description -> Text,
        created_on -> Timestamp,
        changed_on -> Timestamp,
        created_by_fk -> Nullable<Integer>,
        changed_by_fk -> Nullable<Integer>,
        tenant -> Nullable<Text>,
    }
}

diesel::table! {
    saved_queries (id) {
        id -> Integer,
        uuid -> Text,
        database_id -> Integer,
        schema_name -> Nullable<Text>,
        label -> Text,
        description -> Text,
        sql -> Text,
        created_on -> Timestamp,
        changed_on -> Timestamp,
        created_by_fk -> Nullable<Integer>,
        changed_by_fk -> Nullable<Integer>,
    }
}

diesel::table! {
    user_roles (user_id, role_id) {
        user_id -> Integer,
        role_id -> Integer,
    }
}

diesel::table! {
    users (id) {
        id -> Integer,
        uuid -> Text,
        username -> Text,
        email -> Nullable<Text>,
        first_name -> Text,
        last_name -> Text,
        active -> Bool,
        created_on -> Timestamp,
        changed_on -> Timestamp,
        created_by_fk -> Nullable<Integer>,
        changed_by_fk -> Nullable<Integer>,
        tenant -> Nullable<Text>,
    }
}

diesel::joinable!(chart_owners -> charts (chart_id));
diesel::joinable!(chart_owners -> users (user_id));
diesel::joinable!(charts -> datasets (dataset_id));
diesel::joinable!(dashboard_charts -> charts (chart_id));
diesel::joinable!(dashboard_charts -> dashboards (dashboard_id));
diesel::joinable!(dashboard_owners -> dashboards (dashboard_id));
diesel::joinable!(dashboard_owners -> users (user_id));
diesel::joinable!(dataset_columns -> datasets (dataset_id));
diesel::joinable!(dataset_metrics -> datasets (dataset_id));
diesel::joinable!(dataset_owners -> datasets (dataset_id));
diesel::joinable!(dataset_owners -> users (user_id));
diesel::joinable!(datasets -> databases (database_id));
diesel::joinable!(query_history -> databases (database_id));
diesel::joinable!(query_history -> users (user_id));
diesel::joinable!(rls_rule_datasets -> datasets (dataset_id));
diesel::joinable!(rls_rule_datasets -> rls_rules (rls_rule_id));
diesel::joinable!(rls_rule_roles -> rls_rules (rls_rule_id));
diesel::joinable!(rls_rule_roles -> roles (role_id));
diesel::joinable!(role_permissions -> roles (role_id));
diesel::joinable!(role_permissions -> users (created_by_fk));
diesel::joinable!(saved_queries -> databases (database_id));
diesel::joinable!(user_roles -> roles (role_id));
diesel::joinable!(user_roles -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_keys,
    audit_log,
    chart_owners,
    charts,
    dashboard_charts,
    dashboard_owners,
    dashboards,
    databases,
    dataset_columns,
    dataset_metrics,
    dataset_owners,
    datasets,
    query_history,
    rls_rule_datasets,
    rls_rule_roles,
    rls_rules,
    role_permissions,
    roles,
    saved_queries,
    user_roles,
    users,
);
