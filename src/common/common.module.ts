import { DynamicModule, Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Clock } from './clock';
import { APP_CONFIG, AppConfig } from './config/config';
import { refusedRole, ROLE_CHECK } from './database/application-login';
import { createDataSource } from './database/data-source';
import { Database } from './database/database';
import { Metrics } from './metrics';
import { ServerSecret } from './server-secret';
import { Stopping } from './stopping';

export interface CommonOptions {
  config: AppConfig;
  /** Tests pass a ManualClock. */
  clock?: Clock;
  secret?: ServerSecret;
}

/** Closes the database last: after the HTTP server has finished its requests, and after the last flushes. */
@Injectable()
class DataSourceCloser implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource, private readonly db: Database) {}
  async onApplicationShutdown(): Promise<void> {
    await this.db.runBeforeClose();
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

/** Configuration, clock, server secret, database, metrics and the instance's stop: small and boring, available everywhere. */
@Global()
@Module({})
export class CommonModule {
  static forRoot(options: CommonOptions): DynamicModule {
    return {
      module: CommonModule,
      providers: [
        { provide: APP_CONFIG, useValue: options.config },
        { provide: Clock, useValue: options.clock ?? new Clock() },
        { provide: ServerSecret, useFactory: () => options.secret ?? ServerSecret.fromConfig(options.config.secretKey, options.config.dataDir) },
        {
          provide: DataSource,
          useFactory: async () => {
            if (!options.config.databaseAppUrl) throw new Error('the application database URL is not set (prepareDatabase)');
            const dataSource = await createDataSource(options.config.databaseAppUrl, options.config.dbPoolSize).initialize();
            // The trail is append-only only for a role that cannot step around it: refuse to run as one that can.
            const refused = refusedRole((await dataSource.query(ROLE_CHECK))[0]);
            if (refused) {
              await dataSource.destroy();
              throw new Error(`${refused}: connect as a role with the gateway_app grants only (docs/operations.md)`);
            }
            return dataSource;
          },
        },
        Database,
        DataSourceCloser,
        Metrics,
        Stopping,
      ],
      exports: [APP_CONFIG, Clock, ServerSecret, DataSource, Database, Metrics, Stopping],
    };
  }
}
